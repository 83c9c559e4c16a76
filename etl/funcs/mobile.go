package funcs

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"unsafe"
)

// MobileUserKey is the user-key value whose user ids are encrypted mobile
// numbers.
const MobileUserKey = "$basic_userId"

// MobileCipher decrypts the mobile numbers the app sends as base64 of
// AES-ECB with PKCS#7 padding. It is safe for concurrent use.
type MobileCipher struct{ block cipher.Block }

// NewMobileCipher takes a 16, 24 or 32 byte AES key.
// envName is what an env var name looks like (config cannot be imported
// here: it imports this package).
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

func NewMobileCipher(key []byte) (*MobileCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mobile key: %v", err)
	}
	return &MobileCipher{block: b}, nil
}

// LoadMobileKey reads the hex AES key from the env var named env, or from
// file, which must not be readable by group or others (0600 or stricter).
// The key itself never appears in the config, argv or messages.
func LoadMobileKey(env, file string) (*MobileCipher, error) {
	var text string
	switch {
	case env != "" && file != "":
		return nil, fmt.Errorf("mobile key: set mobile_key_env or mobile_key_file, not both")
	case env != "":
		if !envName.MatchString(env) {
			// A key pasted into mobile_key_env: never echo it.
			return nil, fmt.Errorf("mobile_key_env must name an environment variable (A-Z, 0-9, _), not hold the key itself; the value was not printed")
		}
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return nil, fmt.Errorf("mobile key: env var %s is not set", env)
		}
		text = v
	case file != "":
		st, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("mobile key: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("mobile key file %s has mode %04o: make it 0600", file, st.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("mobile key: %w", err)
		}
		text = string(b)
	default:
		return nil, nil
	}
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		src := "its env var"
		if file != "" {
			src = "file " + file
		}
		return nil, fmt.Errorf("mobile key from %s is not hex", src)
	}
	return NewMobileCipher(key)
}

// Decrypt returns the plaintext, ok false on bad base64, a length that is
// not whole blocks, or bad padding.
func (c *MobileCipher) Decrypt(b64 string) (string, bool) {
	p, ok := c.appendDecrypt(nil, b64)
	return string(p), ok
}

// appendDecrypt appends the plaintext to dst. The ciphertext is decoded
// into dst's spare room and decrypted in place (a stack buffer escapes
// through the cipher interface), so a dst with len(b64) bytes to spare
// (the batch arena) costs no allocation.
func (c *MobileCipher) appendDecrypt(dst []byte, b64 string) ([]byte, bool) {
	n0 := len(dst)
	dst = slices.Grow(dst, base64.StdEncoding.DecodedLen(len(b64)))
	ct := dst[n0:cap(dst)]
	n, err := base64.StdEncoding.Decode(ct, unsafe.Slice(unsafe.StringData(b64), len(b64)))
	ct = ct[:n]
	bs := c.block.BlockSize()
	if err != nil || len(ct) == 0 || len(ct)%bs != 0 {
		return dst[:n0], false
	}
	for i := 0; i < len(ct); i += bs {
		c.block.Decrypt(ct[i:i+bs], ct[i:i+bs])
	}
	pad := int(ct[len(ct)-1])
	if pad == 0 || pad > bs {
		return dst[:n0], false
	}
	for _, p := range ct[len(ct)-pad:] {
		if int(p) != pad {
			return dst[:n0], false
		}
	}
	return dst[:n0+len(ct)-pad], true
}

// Encrypt is the inverse, for tests and the data generator.
func (c *MobileCipher) Encrypt(plain string) string {
	bs := c.block.BlockSize()
	n := bs - len(plain)%bs
	b := append([]byte(plain), make([]byte, n)...)
	for i := len(plain); i < len(b); i++ {
		b[i] = byte(n)
	}
	for i := 0; i < len(b); i += bs {
		c.block.Encrypt(b[i:i+bs], b[i:i+bs])
	}
	return base64.StdEncoding.EncodeToString(b)
}

// decryptMobile(user_key, value): when user_key is $basic_userId and the
// value ends in "==", the decrypted number (null on bad base64 or bad
// padding); otherwise the value unchanged.
func (s *Set) decryptMobile(args ...any) (any, error) {
	if err := arity("decrypt_mobile", args, 2, 2); err != nil {
		return nil, err
	}
	k, _ := str(args[0])
	v, ok := str(args[1])
	if !ok {
		return nil, nil
	}
	if k != MobileUserKey || !strings.HasSuffix(v, "==") {
		return args[1], nil
	}
	p, ok := s.sh.Mobile.Decrypt(v)
	if !ok {
		return nil, nil
	}
	return p, nil
}
