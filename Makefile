# OpenAI API Convertor — build, run and test.
GO       ?= go
BIN      := bin/convertor
# Every package of the module but those npm puts under node_modules (a
# JavaScript package may ship Go code that is not ours to test).
PKGS      = $(shell $(GO) list ./... | grep -v /node_modules/)
# Fuzz targets run briefly in `make test`; longer runs: make fuzz FUZZTIME=10m
FUZZTIME ?= 15s

NPM      ?= npm
UI       := adminui
# The portal is rebuilt only when one of these changed.
UI_SRC   := $(shell find $(UI)/src $(UI)/public -type f 2>/dev/null) $(UI)/index.html $(UI)/vite.config.ts \
            $(UI)/tsconfig.json $(UI)/tsconfig.app.json $(UI)/package.json $(UI)/package-lock.json
HAVE_NPM := $(shell command -v $(NPM) 2>/dev/null)

.PHONY: all build run test unit fuzz bench bench-load lint fmt clean ui ui-deps ui-missing ui-test e2e openapi cdk-test cdk-deps

all: build

# build embeds the admin portal (adminui/dist) when npm is there to build
# it; without Node it still builds, and /admin/ says how to build the portal.
build: $(if $(HAVE_NPM),ui,ui-missing)
	$(GO) build -o $(BIN) ./cmd/convertor

# ui builds the admin portal into adminui/dist, installing its packages
# first when node_modules is missing or older than the lock file.
ui: $(UI)/dist/index.html

$(UI)/dist/index.html: $(UI)/node_modules/.package-lock.json $(UI_SRC)
	cd $(UI) && $(NPM) run build

ui-deps: $(UI)/node_modules/.package-lock.json

$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json
	cd $(UI) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

ui-missing:
	@echo "warning: $(NPM) not found: building without the admin portal; /admin/ will say how to build it (install Node.js 20, then make ui)" >&2

# ui-test: the portal's lint, type check, unit tests, and the check that
# its generated API types match the admin API's document.
ui-test: ui-deps
	cd $(UI) && $(NPM) run lint && $(NPM) run typecheck && $(NPM) run check:api && $(NPM) test

# e2e drives the portal in Debian's chromium against `convertor dev`
# (screenshots in adminui/test-results/).
e2e: build
	cd $(UI) && CONVERTOR_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 e2e/

# openapi rewrites the portal's copy of the admin API's OpenAPI document
# and regenerates the typed client from it, after an API change.
openapi: ui-deps
	$(GO) test -count=1 -run '^TestOpenAPI_PortalCopyIsCurrent$$' ./adminapi -update-openapi
	cd $(UI) && $(NPM) run gen:api

# run starts the product on embedded defaults (see README "Running it").
run: build
	./$(BIN) dev

# test is what CI runs: vet, the race-checked suite, short fuzzing, every
# benchmark once (so benchmarks keep compiling and checking their output),
# the CDK app's tests, and the admin portal's checks and browser tests.
test: lint unit fuzz cdk-test ui-test e2e
	BENCH_PIPELINE_EVENTS=2000 BENCH_STATS_KEYS=20 BENCH_DASHBOARD_KEYS=20 $(GO) test -run='^$$' -bench=. -benchtime=1x $(PKGS)

# unit prints what go test prints, then which tests skipped and why (tests
# that need redis-server or the SQS server skip without them; CI=true makes
# those skips failures).
unit:
	$(GO) run ./internal/testreport -race -count=1 -timeout 20m $(PKGS)

fuzz:
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/convert FuzzChatRequestToConverse $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/convert FuzzStream $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/bedrock FuzzEventReader $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/bedrock FuzzFastEvents $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/bedrock FuzzFastConverseResponse $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway/openai FuzzPlainString $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway FuzzFastJSON_ChatRequest $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway FuzzFastJSON_ResponsesRequest $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./gateway FuzzFastJSON_ConverseResponse $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./events FuzzMarshal_AsEncodingJSON $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./internal/dynamolocal/attr FuzzValueJSON $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./internal/dynamolocal/expr FuzzParse $(FUZZTIME)
	GO=$(GO) internal/testenv/fuzztarget.sh ./internal/dynamolocal FuzzHandler $(FUZZTIME)

# bench prints the micro-benchmarks (conversion, Bedrock client, rate
# limiter, emitter, pricing, accountant, roll-ups and the dashboards' reads
# of them over BENCH_STATS_KEYS keys, default 1,000, whose month of data
# takes minutes to load, the admin API's dashboard over
# BENCH_DASHBOARD_KEYS keys likewise, the DynamoDB-compatible store),
# the accounting pipeline's events/s, the in-process load comparison
# (loadbench: direct Bedrock path vs through the gateway, with and without
# keys and limits; REDIS_URL=redis://... to limit on Redis), and the
# gateway as its own process between a load generator and a fake Bedrock
# (procbench: CPU per request, memory and goroutines per open stream; with
# redis-server installed, also with keys, limits and usage events on).
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 . ./gateway/... ./events/ ./accountant/ ./adminapi/ ./internal/dynamo/ ./internal/dynamolocal/
	$(GO) test -run='^$$' -bench=Pipeline ./internal/pipeline/
	$(GO) run ./internal/loadbench
	$(GO) run ./internal/procbench -bin $(BIN) $(if $(shell command -v redis-server),-full)

# cdk-test checks the AWS deployment offline: types, lint, the Jest tests
# (resources, routing, IAM scoping, HTTPS variants, settings errors,
# cdk-nag, snapshots) and a synth of dev and prod with placeholder
# account and region (which also runs CDK's CloudFormation schema checks).
CDK_DIR  := deploy/cdk
CDK_ENV  := CDK_DISABLE_VERSION_CHECK=1 CDK_DEFAULT_ACCOUNT=123456789012 CDK_DEFAULT_REGION=us-east-1
CDK_PROD := -c domainName=api.example.com -c hostedZoneId=Z0123456789ABCDEFGHIJ -c hostedZoneName=example.com

cdk-deps:
	@[ -d $(CDK_DIR)/node_modules ] && [ $(CDK_DIR)/node_modules/.package-lock.json -nt $(CDK_DIR)/package-lock.json ] || \
		(cd $(CDK_DIR) && npm ci --no-audit --no-fund --loglevel=error)

cdk-test: cdk-deps
	cd $(CDK_DIR) && npx tsc --noEmit
	cd $(CDK_DIR) && npx eslint .
	cd $(CDK_DIR) && npx jest --ci
	cd $(CDK_DIR) && $(CDK_ENV) npx cdk synth --quiet -c environment=dev -o cdk.out/dev
	cd $(CDK_DIR) && $(CDK_ENV) npx cdk synth --quiet -c environment=prod $(CDK_PROD) -o cdk.out/prod

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin $(UI)/test-results
	find $(UI)/dist -mindepth 1 ! -name .placeholder -exec rm -rf {} +
