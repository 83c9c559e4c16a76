# chama: the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/chama
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build demo test fuzz lint vet fmt-check bench-deps bench-pack bench-push bench-day bench-pull bench-transform clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/chama

# Runs the main job end to end on generated data: gen -> pack -> push to an
# in-process SFTP server on loopback -> verify.
demo: build
	./$(BIN) demo --dir ./demo

# The whole suite, race detector on. Tests that need OpenSSH's sshd skip
# with a message when it is absent; .ci/run installs it.
test: vet fmt-check
	$(GO) test -race -count=1 -timeout 40m ./...

# Each fuzz target for a short fixed time (FUZZTIME, default 10s): the
# period parser, file-name templates, the .verf parser, the config loader
# and the line converter. Crashers land in the package's testdata/fuzz and
# then run with every `go test`.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePeriods$$' -fuzztime $(FUZZTIME) ./naming
	$(GO) test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime $(FUZZTIME) ./naming
	$(GO) test -run '^$$' -fuzz '^FuzzParseVerf$$' -fuzztime $(FUZZTIME) ./verify
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzConvert$$' -fuzztime $(FUZZTIME) ./etl/pack

# staticcheck, pinned so a new release cannot fail CI on its own; and
# darwin and windows cross-builds, so a Linux-only call cannot creep in
# (chama runs on unix; the windows build keeps unix calls behind build tags).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: vet
	$(GO) run $(STATICCHECK) ./...
	GOOS=darwin CGO_ENABLED=0 $(GO) build ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench-pack: build
	./scripts/bench/pack.sh

# Baselines the benchmarks compare against (sshd, lftp, rclone, Miller).
bench-deps:
	./scripts/bench/deps.sh

bench-push: build bench-deps
	./scripts/bench/push.sh

bench-day: build
	./scripts/bench/day.sh

bench-pull: build
	./scripts/bench/pull.sh

bench-transform: build bench-deps
	./scripts/bench/transform.sh

clean:
	rm -rf bin demo
