// The listing of Sessions.docc/MetricsAndTracing.md, compiled here.
import Metrics
import Tracing

/// At startup, before opening stores, with any backends: swift-prometheus's
/// `PrometheusMetricsFactory`, swift-otel's tracer, or others.
func bootstrapObservability(metrics: any MetricsFactory, tracer: any Tracer) {
    MetricsSystem.bootstrap(metrics)
    InstrumentationSystem.bootstrap(tracer)
}
