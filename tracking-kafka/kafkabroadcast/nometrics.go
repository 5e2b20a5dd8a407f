package kafkabroadcast

import (
	"reflect"

	gometrics "github.com/rcrowley/go-metrics"
)

// discardRegistry is the go-metrics registry given to sarama: it hands out
// no-op meters, histograms and counters. Sarama's own metrics cost histogram
// updates under locks on every request and keep meters alive in go-metrics'
// global arbiter; ours are Prometheus ones. Setting go-metrics' global
// UseNilMetrics would do the same for the whole process, which a library
// must not decide.
//
// One sarama meter escapes this: FetchRequest.encode marks
// "consumer-fetch-rate-for-topic-*" with a nil registry in its sizing pass
// (sarama v1.61.1 fetch_request.go), so go-metrics registers it in its
// DefaultRegistry and starts its process-wide arbiter goroutine, which never
// ends (IBM/sarama#2861). A binary can prevent it with
// metrics.UseNilMetrics = true before starting sarama; the tests ignore it.
type discardRegistry struct{}

var (
	meterType     = reflect.TypeFor[gometrics.Meter]()
	histogramType = reflect.TypeFor[gometrics.Histogram]()
	counterType   = reflect.TypeFor[gometrics.Counter]()
	gaugeType     = reflect.TypeFor[gometrics.Gauge]()
)

// GetOrRegister receives a metric or a constructor of one; it answers with the
// no-op metric of the constructor's result type, without calling it.
func (discardRegistry) GetOrRegister(_ string, metric any) any {
	t := reflect.TypeOf(metric)
	if t == nil || t.Kind() != reflect.Func || t.NumIn() != 0 || t.NumOut() != 1 {
		return metric
	}
	switch t.Out(0) {
	case meterType:
		return gometrics.NilMeter{}
	case histogramType:
		return gometrics.NilHistogram{}
	case counterType:
		return gometrics.NilCounter{}
	case gaugeType:
		return gometrics.NilGauge{}
	}
	return reflect.ValueOf(metric).Call(nil)[0].Interface()
}

func (discardRegistry) Each(func(string, any))            {}
func (discardRegistry) Get(string) any                    { return nil }
func (discardRegistry) GetAll() map[string]map[string]any { return nil }
func (discardRegistry) Register(string, any) error        { return nil }
func (discardRegistry) RunHealthchecks()                  {}
func (discardRegistry) Unregister(string)                 {}
func (discardRegistry) UnregisterAll()                    {}
