import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus instruments, one set per server instance (tests run several servers in
 * one process; each has its own registry). Labels hold config keys, error codes, outcomes and
 * statuses only: never a token or secret, and never a connection id (end-user data, unbounded).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly flowsStarted = new Counter({ name: 'keyway_flows_started_total', help: 'Connect flows started (the user was sent to the provider, or API-key/Basic credentials were submitted)', labelNames: ['config_key'] as const, registers: [this.registry] });
  readonly flowsSucceeded = new Counter({ name: 'keyway_flows_succeeded_total', help: 'Connect flows that stored a connection', labelNames: ['config_key'] as const, registers: [this.registry] });
  readonly flowsFailed = new Counter({ name: 'keyway_flows_failed_total', help: 'Connect flows that ended in an error, by Keyway error code', labelNames: ['config_key', 'error_code'] as const, registers: [this.registry] });
  readonly refreshes = new Counter({ name: 'keyway_refreshes_total', help: 'Token refreshes by outcome (success, refused: the provider said no, failed: transient or local error)', labelNames: ['config_key', 'outcome'] as const, registers: [this.registry] });
  readonly refreshDuration = new Histogram({ name: 'keyway_refresh_duration_seconds', help: 'Time of one token refresh, retries included', labelNames: ['outcome'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly proxyRequests = new Counter({ name: 'keyway_proxy_requests_total', help: 'Proxied requests by method and the status returned to the caller', labelNames: ['config_key', 'method', 'status'] as const, registers: [this.registry] });
  readonly proxyDuration = new Histogram({ name: 'keyway_proxy_request_duration_seconds', help: 'Time of a proxied request until its response ended, retries included', labelNames: ['config_key'] as const, buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly webhookDeliveries = new Counter({ name: 'keyway_webhook_deliveries_total', help: 'Webhook deliveries by outcome (delivered, refused, abandoned, dropped)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly storeWriteDuration = new Histogram({ name: 'keyway_store_write_duration_seconds', help: 'Time of one store write, by operation', labelNames: ['operation'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly openLongPolls = new Gauge({ name: 'keyway_open_long_polls', help: 'SDK outcome long-polls (GET /oauth/flows/:flowId) waiting now', registers: [this.registry] });
  /** Set by the WebSocket channel (inc on open, dec on close). */
  readonly openWebSockets = new Gauge({ name: 'keyway_open_websockets', help: 'WebSocket connections open now', registers: [this.registry] });

  /** Everything in Prometheus' text format: the process's default metrics, then this server's. */
  async render(): Promise<string> {
    return (await processRegistry().metrics()) + (await this.registry.metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The default process metrics (CPU, memory, event-loop lag, GC, handles) belong to the process, not
 * to a server: one registry for all instances, made on the first scrape.
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
