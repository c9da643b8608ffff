# The two commands a newcomer needs: `make run` and `make test`.
GO      ?= go
BIN     := bin/idm
ARGS    ?=
BENCH_SIZES ?= 10000,100000

.PHONY: run test build generate check-generated lint bench clean

## build: compile the idm binary into bin/
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/idm

## run: start the server on SQLite in demo mode (sample directory, demo accounts)
run: build
	./$(BIN) serve --demo $(ARGS)

## test: install what the tests need (Debian, as root) and run every test with -race
test:
	bash scripts/install-test-deps.sh
	$(MAKE) check-generated
	$(GO) vet ./...
	GO=$(GO) bash scripts/run-tests.sh

## generate: regenerate templ components (*_templ.go, committed)
generate:
	$(GO) tool templ generate

## check-generated: fail when the committed *_templ.go differ from what templ generates
check-generated:
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || { echo "templ output is not current: run make generate and commit"; exit 1; }

## lint: gofmt, go vet, staticcheck, and GORM only in the store (scripts/check-imports.sh)
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	GO=$(GO) bash scripts/check-imports.sh

## bench: measure sync speed and memory against the targets (not part of test)
bench:
	bash scripts/install-test-deps.sh
	$(GO) run ./cmd/idm-bench -sizes $(BENCH_SIZES) -out bench-results/bench.json

clean:
	rm -rf bin bench-results
