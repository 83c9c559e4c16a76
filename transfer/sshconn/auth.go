package sshconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/chama-data/chama/config"
)

// ReadSecretFile reads a password or passphrase file. A file that group
// or others can access is refused, the way ssh refuses an unprotected
// private key: a secret another account can read is already leaked. The
// error names the file and its mode, never the content.
func ReadSecretFile(path string) (string, error) {
	if err := CheckSecretFile(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// CheckSecretFile refuses a secret file readable (or writable) by group or
// others: config's rule, the one config validate applies too.
func CheckSecretFile(path string) error {
	if err := config.CheckSecretFile(path); err != nil {
		return fmt.Errorf("secret file %w", err)
	}
	return nil
}

// authMethods builds the SSH auth methods a target's config asks for, in
// the order key file, agent, password. closeFn releases the agent socket.
func authMethods(t *config.Target) (ms []ssh.AuthMethod, closeFn func(), err error) {
	closeFn = func() {}
	a := t.Auth
	if a.KeyFile != "" {
		if err := CheckSecretFile(a.KeyFile); err != nil {
			return nil, closeFn, err
		}
		pem, err := os.ReadFile(a.KeyFile)
		if err != nil {
			return nil, closeFn, fmt.Errorf("key file %s: %w", a.KeyFile, err)
		}
		pass, hasPass, err := secret(a.PassphraseEnv, a.PassphraseFile, "passphrase")
		if err != nil {
			return nil, closeFn, err
		}
		var signer ssh.Signer
		if hasPass {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
		} else {
			signer, err = ssh.ParsePrivateKey(pem)
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, closeFn, fmt.Errorf("key file %s is encrypted: set auth.passphrase_env or auth.passphrase_file", a.KeyFile)
			}
		}
		if err != nil {
			return nil, closeFn, fmt.Errorf("key file %s: %v", a.KeyFile, err)
		}
		ms = append(ms, ssh.PublicKeys(signer))
	}
	if a.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, closeFn, errors.New("auth.agent is set but SSH_AUTH_SOCK is empty: no ssh-agent to ask")
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, closeFn, fmt.Errorf("ssh-agent at SSH_AUTH_SOCK: %v", err)
		}
		closeFn = func() { c.Close() }
		ms = append(ms, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
	}
	if a.PasswordEnv != "" || a.PasswordFile != "" {
		pw, _, err := secret(a.PasswordEnv, a.PasswordFile, "password")
		if err != nil {
			closeFn()
			return nil, func() {}, err
		}
		ms = append(ms, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range qs {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	if len(ms) == 0 {
		return nil, closeFn, errors.New("no credentials configured (auth.key_file, auth.agent, auth.password_env or auth.password_file)")
	}
	return ms, closeFn, nil
}

// secret reads a secret from an env var or a file; messages name where
// it was looked for, never the value.
func secret(env, file, what string) (string, bool, error) {
	switch {
	case env != "":
		if !config.IsEnvName(env) {
			// A secret pasted into the key: never echo it.
			return "", false, fmt.Errorf("auth.%s_env: %s", what, config.EnvNameProblem)
		}
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", false, fmt.Errorf("%s env var %s is not set", what, env)
		}
		return v, true, nil
	case file != "":
		v, err := ReadSecretFile(file)
		if err != nil {
			return "", false, err
		}
		return v, true, nil
	}
	return "", false, nil
}
