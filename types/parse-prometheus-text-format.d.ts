declare module 'parse-prometheus-text-format' {
  export interface MetricFamily {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'HISTOGRAM' | 'UNTYPED'
    metrics: { value?: string; labels?: Record<string, string>; [k: string]: unknown }[]
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[]
}
