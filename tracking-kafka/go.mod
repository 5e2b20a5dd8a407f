module github.com/teamtrack/tracking-kafka

go 1.26

require github.com/teamtrack/tracking-core v0.0.0

replace github.com/teamtrack/tracking-core => ../tracking-core
