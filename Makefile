# DBProxy — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
export PATH := $(CURDIR)/.cache/kube/bin/current:$(PATH)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## Install what running and testing need: npm packages, PostgreSQL 15, PgBouncer (idempotent)
	@bin/install-deps

.PHONY: build
build: $(NPM_STAMP) ## Compile TypeScript into dist/ and the native I/O core (proxy/native)
	npm run --silent build
	@bin/build-native

.PHONY: native
native: $(NPM_STAMP) ## Build the native I/O core alone (and its AddressSanitizer build for the fuzz test)
	@bin/build-native
	@bin/build-native --asan

.PHONY: demo
demo: deps build ## Local demo: PostgreSQL + DBProxy + 1,000 pgbench clients, then what the proxy did
	node dist/proxy/bench/demo.js

.PHONY: test
test: deps build kube-binaries ## Install what tests need and run every test (unit, integration, e2e)
	@bin/run-tests

.PHONY: test-unit
test-unit: $(NPM_STAMP) ## Run only the unit tests (no servers)
	npx vitest run --project unit

.PHONY: test-int
test-int: deps build ## Run the integration tests against real PostgreSQL
	npx vitest run --project int

.PHONY: test-e2e
test-e2e: deps build kube-binaries ## Run the e2e specs on the real local control plane, in its network namespace
	e2e/cluster/exec npx vitest run --project e2e

.PHONY: lint
lint: $(NPM_STAMP) ## Lint and check formatting (Biome: biome.json); `make test` runs it too
	npx biome ci --colors=off .

.PHONY: format
format: $(NPM_STAMP) ## Format every file and apply the linter's safe fixes (Biome)
	npx biome check --write .

.PHONY: typecheck
typecheck: $(NPM_STAMP) ## Type-check everything, tests included
	npm run --silent typecheck

.PHONY: bench
bench: deps build ## Benchmark DBProxy vs PgBouncer vs a plain relay vs direct; results in .cache/bench/
	node dist/proxy/bench/run.js

.PHONY: bench-failover
bench-failover: deps build kube-binaries ## Failover through DBProxy vs direct, standalone and on the local control plane; .cache/bench/failover*.md
	node dist/proxy/bench/failover.js
	@if why=$$(e2e/cluster/exec --check); then e2e/cluster/exec --fresh node dist/e2e/bench/failover.js; \
	else echo "bench-failover: skipping the control-plane run: $$why"; fi

.PHONY: crds
crds: build ## Regenerate crds/ and the chart's CRDs from the zod schema
	node dist/operator/src/api/v1alpha1/generate-crd.js

.PHONY: kube-binaries
kube-binaries: ## Build (once, cached in .cache/kube/bin) etcd, kube-apiserver, kube-controller-manager, kubectl, helm
	@e2e/kube/build.sh >/dev/null

.PHONY: cluster-up
cluster-up: build kube-binaries ## Start the local control plane + node agent in network namespace "dbproxy"; reach it with e2e/cluster/exec
	@e2e/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane and node agent
	@e2e/cluster/down.sh

.PHONY: helm-lint
helm-lint: kube-binaries ## helm lint + helm template of the chart
	helm lint charts/dbproxy-operator
	helm template dbproxy charts/dbproxy-operator --kube-version 1.36.3 >/dev/null

.PHONY: image
image: ## Build the container image (needs Docker)
	docker build -t dbproxy:dev .

.PHONY: e2e-kind
e2e-kind: ## Run the e2e specs on a kind cluster with the Helm chart and image (needs Docker)
	@e2e/kind/run.sh

.PHONY: clean
clean: ## Remove build output (keeps the .cache of binaries)
	rm -rf dist
