package main

import (
	"os"
	"testing"
	"time"

	"github.com/chama-data/chama/etl/pack"
)

// TestMain lets the tests run this test binary as chama itself, as a
// separate process (the two-machine tests): CHAMA_TEST_AS_CHAMA=1 runs
// main with the process's arguments. CHAMA_TEST_STALL names a file: a
// process about to put an hour chunk in the store creates <file>.ready
// and waits until the file is removed (to be killed or frozen there).
func TestMain(m *testing.M) {
	if os.Getenv("CHAMA_TEST_AS_CHAMA") == "1" {
		if stall := os.Getenv("CHAMA_TEST_STALL"); stall != "" {
			pack.HookBeforeStorePut = func(string, string) {
				os.WriteFile(stall+".ready", nil, 0o644)
				for {
					if _, err := os.Stat(stall); err != nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		main()
	}
	os.Exit(m.Run())
}
