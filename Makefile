# minikv — every command a developer or CI needs.
#
#   make test    formatting, vet, all tests (race detector on the packages
#                that start goroutines), the simulator sweeps (kv on both
#                engines, and the register), real three-node clusters of
#                minikv processes, and the exercise-mode check of labs 1–6
#   make sim     a 200-seed sweep with every fault, from the command line
#   make soak    the long sweep: 2,000 seeds with every fault
#   make bench   the raft core and storage engine Go benchmarks, then the
#                S3 benchmark (scripts/bench-s3.sh: one node, then three)
#   make run     build and start one node on its defaults (data in ./data)
#   make cluster build and start a local three-node cluster (data in ./cluster)

GO       ?= go
BIN      := bin/minikv
# Packages whose code starts goroutines: they run under the race detector.
RACE_PKGS := ./cmd/... ./storage/... ./raft/transport/... ./raft/runner/... ./server/... ./api/... ./bench/... ./s3/...

.PHONY: all build test lint unit race exercise-check sim soak bench run cluster clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/minikv

test: lint unit race exercise-check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

race:
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 -race -short ./sim/

# Each lab really tests what it says: the stripped copy must build and fail.
exercise-check:
	MINIKV_EXERCISE_CHECK=1 $(GO) test -count=1 -timeout 20m -run TestStrippedLabsFail -v ./labs/exercise/

sim: build
	$(BIN) sim --seeds 1-200 --faults all

soak: build
	$(BIN) sim --seeds 1-2000 --faults all

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./raft/ ./storage/
	scripts/bench-s3.sh $(BIN)

run: build
	$(BIN) serve --data-dir ./data

cluster: build
	$(BIN) cluster up --dir ./cluster --nodes 3

clean:
	rm -rf bin sim-failures
