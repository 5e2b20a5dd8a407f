module github.com/teamtrack/tracking-redis

go 1.26.7

require github.com/teamtrack/tracking-core v0.0.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/redis/go-redis/v9 v9.17.3 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)

replace github.com/teamtrack/tracking-core => ../tracking-core
