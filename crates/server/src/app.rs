//! The running application: store, keyring, routers on their listeners, the job worker, and a
//! graceful stop that drains in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{MatchedPath, State};
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use openiav_aggregation::{Aggregation, AggregationConfig, MxError};
use openiav_core::clock::{Clock, SystemClock};
use openiav_core::crypto::{Keyring, MasterKey};
use openiav_core::ops::Listener;
use openiav_payments::webhooks::{self, DeliveryConfig};
use openiav_payments::{Payments, PaymentsConfig};
use openiav_plaid::{Plaid, PlaidConfig};
use openiav_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

use crate::bootstrap::{self, IssuedTenant, PresetCredentials};
use crate::config::{base_url_for, ServeArgs};
use crate::edge::{self, Edge, Vendor};
use crate::link::InProcessLink;
use crate::ops;
use crate::serve::{self, ConnectionLimits};
use crate::vendor_hosts;
use crate::verifier::InProcessVerifier;
use crate::visa::InProcessVisa;

/// A built application whose listeners are bound and ready to serve.
pub struct App {
    aggregation_listener: TcpListener,
    payments_listener: TcpListener,
    aggregation: Arc<Aggregation>,
    payments: Arc<Payments>,
    visa: openiav_visa::AppState,
    plaid: openiav_plaid::AppState,
    delivery: DeliveryConfig,
    store: Store,
    request_deadline: Duration,
    limits: ConnectionLimits,
    vendor_hosts: Option<vendor_hosts::Listener>,
    journal_size: i64,
    /// The sandbox tenant's credentials when this start created it.
    pub sandbox: Option<IssuedTenant>,
}

async fn health() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" })))
}

/// Readiness: whether the database answers, unlike `/health`, which only says the process is up.
async fn ready(State(store): State<Store>) -> impl IntoResponse {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "unavailable" })))
        }
    }
}

/// The probes and the edge every request passes.
fn with_edge(router: Router, store: &Store, edge: Edge) -> Router {
    router
        .route("/health", get(health))
        .route("/ready", get(ready).with_state(store.clone()))
        .layer(axum::middleware::from_fn_with_state(edge, edge::guard))
}

/// Traces name the route template, never the concrete path (OAuth tokens travel in paths), and
/// the request id, so every line of a request carries it; the id layer is outermost.
fn trace_layer(router: Router) -> Router {
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
            let id = req.extensions().get::<ops::request_id::RequestId>().map(|r| r.0.as_str()).unwrap_or_default();
            tracing::info_span!("request", request_id = %id, http.method = %req.method(), http.route = %route)
        }))
        .layer(axum::middleware::from_fn(ops::request_id::assign))
}

/// `/metrics`, then the operations layer (faults, journal, request metrics) over everything.
fn with_ops(router: Router, ops: ops::Ops) -> Router {
    let scrape = ops::metrics::Scrape { store: ops.store.clone(), clock: ops.clock.clone() };
    let recorder = ops.recorder.clone();
    router
        .route("/metrics", get(ops::metrics::scrape).with_state(scrape))
        .layer(axum::middleware::from_fn_with_state(Arc::new(ops), ops::observe))
        .layer(axum::Extension(recorder))
}

impl App {
    /// Opens the store, bootstraps the sandbox tenant, and binds both listeners.
    pub async fn build(
        database_url: &str,
        master_key: &MasterKey,
        args: ServeArgs,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let request_deadline = Duration::from_millis(args.request_timeout_ms.max(1));
        let limits = ConnectionLimits {
            header_read: Duration::from_millis(args.header_read_timeout_ms.max(1)),
            idle: Duration::from_millis(args.idle_timeout_ms.max(1)),
        };
        let store = Store::open_with(database_url, &StoreOptions { statement_timeout: request_deadline })
            .await
            .context("opening the database")?;
        let snapshot = args.load_snapshot.as_deref().map(crate::preload::read_snapshot).transpose()?;
        let preset = PresetCredentials {
            tenant_id: snapshot.as_ref().map(|(_, tenant)| *tenant),
            mx_client_id: args.sandbox_mx_client_id.clone(),
            mx_api_key: args.sandbox_mx_api_key.clone(),
            dwolla_key: args.sandbox_dwolla_key.clone(),
            dwolla_secret: args.sandbox_dwolla_secret.clone(),
        };
        let sandbox = bootstrap::ensure_sandbox_tenant(&store, clock.as_ref(), preset)
            .await
            .context("bootstrapping the sandbox tenant")?;
        if let Some((snapshot, taken_of)) = snapshot {
            crate::preload::load_snapshot(&store, snapshot, taken_of).await.context("loading --load-snapshot")?;
        }
        crate::preload::load_fixtures(&store, clock.as_ref(), args.sandbox_fixtures.as_deref())
            .await
            .context("loading sandbox fixtures")?;
        if !args.sandbox_redirect_urls.is_empty() {
            bootstrap::set_sandbox_redirect_urls(&store, args.sandbox_redirect_urls.clone())
                .await
                .context("setting the sandbox tenant's redirect URLs")?;
        }
        if let Some(url) = &args.sandbox_mx_webhook_url {
            bootstrap::set_sandbox_mx_webhook_url(&store, &Keyring::new(master_key), clock.as_ref(), url)
                .await
                .context("setting the sandbox tenant's MX webhook URL")?;
        }
        let aggregation_listener = TcpListener::bind(args.aggregation_listen)
            .await
            .with_context(|| format!("binding the aggregation listener on {}", args.aggregation_listen))?;
        let payments_listener = TcpListener::bind(args.payments_listen)
            .await
            .with_context(|| format!("binding the payments listener on {}", args.payments_listen))?;
        let vendor_hosts = match args.vendor_hosts.enabled {
            true => Some(vendor_hosts::Listener::bind(&args.vendor_hosts, database_url).await?),
            false => None,
        };
        // In vendor-host mode the URLs handed out are the vendors' own, unless configured.
        let vendor_url = |url: &str| vendor_hosts.is_some().then(|| url.to_owned());
        let public = args
            .aggregation_public_url
            .clone()
            .or_else(|| vendor_url(vendor_hosts::AGGREGATION_PUBLIC_URL))
            .unwrap_or_else(|| base_url_for(aggregation_listener.local_addr().expect("bound")));
        let visa = openiav_visa::Visa::new(
            store.clone(),
            Keyring::new(master_key),
            clock.clone(),
            openiav_visa::VisaConfig { public_base_url: public.clone(), ..openiav_visa::VisaConfig::default() },
        );
        let plaid = Plaid::new(store.clone(), clock.clone(), PlaidConfig { public_base_url: public.clone() });
        let config = AggregationConfig {
            public_base_url: public,
            sandbox_delay_ms: args.sandbox_delay_ms as i64,
            challenge_timeout_ms: args.challenge_timeout_ms as i64,
            ..AggregationConfig::default()
        };
        let aggregation = Aggregation::new(store.clone(), Keyring::new(master_key), clock.clone(), config);
        let payments_config = PaymentsConfig {
            public_base_url: args
                .payments_public_url
                .clone()
                .or_else(|| vendor_url(vendor_hosts::PAYMENTS_PUBLIC_URL))
                .unwrap_or_else(|| base_url_for(payments_listener.local_addr().expect("bound"))),
            visa_enabled: args.visa_partner,
        };
        let verifier = Arc::new(InProcessVerifier(aggregation.clone()));
        let visa_provider = Arc::new(InProcessVisa(visa.clone()));
        let link = Arc::new(InProcessLink(plaid.clone()));
        let payments = Payments::new(
            store.clone(),
            Keyring::new(master_key),
            clock,
            payments_config,
            verifier,
            visa_provider,
            link,
        );
        let delivery = DeliveryConfig { allowlist: args.webhook_allowlist.clone() };
        Ok(Self {
            aggregation_listener,
            payments_listener,
            aggregation,
            payments,
            visa,
            plaid,
            delivery,
            store,
            request_deadline,
            limits,
            vendor_hosts,
            journal_size: i64::from(args.journal_size),
            sandbox,
        })
    }

    /// Builds with the system clock.
    pub async fn build_default(database_url: &str, master_key: &MasterKey, args: ServeArgs) -> anyhow::Result<Self> {
        Self::build(database_url, master_key, args, Arc::new(SystemClock)).await
    }

    /// The webhook deliveries a clock advance runs, as the delivery worker runs them.
    fn control_deliveries(&self) -> Vec<openiav_control::Delivery> {
        use openiav_control::{Delivery, WorkKind};
        vec![
            Delivery {
                kind: WorkKind::DwollaWebhook,
                runner: webhooks::delivery_kind(self.payments.clone(), self.delivery.clone()),
            },
            Delivery {
                kind: WorkKind::MxWebhook,
                runner: openiav_aggregation::webhooks::delivery_kind(self.aggregation.clone(), self.delivery.clone()),
            },
        ]
    }

    /// The store this app runs on (tests use it to add tenants).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    pub fn aggregation_addr(&self) -> SocketAddr {
        self.aggregation_listener.local_addr().expect("bound listener")
    }

    pub fn payments_addr(&self) -> SocketAddr {
        self.payments_listener.local_addr().expect("bound listener")
    }

    /// The vendor-host TLS listener's address, in vendor-host mode.
    pub fn vendor_hosts_addr(&self) -> Option<SocketAddr> {
        self.vendor_hosts.as_ref().map(vendor_hosts::Listener::local_addr)
    }

    /// The CA certificate file to trust, in vendor-host mode.
    pub fn vendor_hosts_ca_file(&self) -> Option<&std::path::Path> {
        self.vendor_hosts.as_ref().map(|l| l.ca_file.as_path())
    }

    /// Serves until `shutdown` resolves, then stops accepting, drains in-flight requests, stops
    /// the worker and closes the store.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };

        let deadline = self.request_deadline;
        let mut aggregation_routes = openiav_aggregation::router(self.aggregation.clone())
            .merge(openiav_widget::router().with_state(self.aggregation.clone()))
            .merge(openiav_plaid::router(self.plaid.clone()));
        // The Visa partner's bank page is there only when Visa is offered.
        if self.payments.config.visa_enabled {
            aggregation_routes = aggregation_routes.merge(openiav_visa::router(self.visa.clone()));
        }
        // The control plane answers on both listeners, for whichever credentials a test holds.
        let control = openiav_control::Control::new(
            self.store.clone(),
            self.aggregation.clone(),
            self.payments.clone(),
            self.control_deliveries(),
        );
        aggregation_routes = aggregation_routes.merge(openiav_control::router(control.clone()));
        let recorder = openiav_control::journal::Recorder::spawn(self.store.clone(), self.journal_size);
        ops::metrics::handle();
        let fault_rules = Arc::new(openiav_control::faults::RuleCache::default());
        let ops_for = |listener| ops::Ops {
            listener,
            store: self.store.clone(),
            fault_rules: fault_rules.clone(),
            aggregation: self.aggregation.clone(),
            payments: self.payments.clone(),
            recorder: recorder.clone(),
            clock: self.payments.clock.clone(),
        };
        let aggregation_router = trace_layer(with_ops(
            with_edge(
                aggregation_routes.fallback(|| async { MxError::NotFound }).method_not_allowed_fallback(|| async {
                    MxError::MethodNotAllowed("This method is not allowed on this path.".into())
                }),
                &self.store,
                Edge { vendor: Vendor::Mx, deadline },
            ),
            ops_for(Listener::Mx),
        ));
        let payments_router = trace_layer(with_ops(
            with_edge(
                openiav_payments::router(self.payments.clone()).merge(openiav_control::router(control)),
                &self.store,
                Edge { vendor: Vendor::Dwolla, deadline },
            ),
            ops_for(Listener::Dwolla),
        ));

        let worker = tokio::spawn(openiav_aggregation::worker::run(self.aggregation.clone(), stopped(stop_rx.clone())));
        // One delivery worker, one queue: Dwolla's and MX's webhooks share it.
        let kinds = vec![
            webhooks::delivery_kind(self.payments.clone(), self.delivery.clone()),
            openiav_aggregation::webhooks::delivery_kind(self.aggregation.clone(), self.delivery.clone()),
        ];
        let deliveries = tokio::spawn(openiav_outbound::worker::run(
            self.store.clone(),
            self.payments.clock.clone(),
            kinds,
            stopped(stop_rx.clone()),
        ));
        let pruner =
            tokio::spawn(openiav_payments::idempotency::prune_expired(self.payments.clone(), stopped(stop_rx.clone())));
        let fixtures =
            tokio::spawn(openiav_control::fixtures::keep_installed(self.store.clone(), stopped(stop_rx.clone())));
        let vendor = self.vendor_hosts.map(|l| {
            let routes = vendor_hosts::tls::Routes {
                payments: payments_router.clone(),
                aggregation: aggregation_router.clone(),
            };
            vendor_hosts::tls::serve(l.tcp, l.tls, routes, self.limits, stopped(stop_rx.clone()))
        });
        let vendor = async move {
            match vendor {
                Some(serving) => serving.await,
                None => Ok(()),
            }
        };
        let aggregation =
            serve::serve(self.aggregation_listener, aggregation_router, self.limits, stopped(stop_rx.clone()));
        let payments = serve::serve(self.payments_listener, payments_router, self.limits, stopped(stop_rx.clone()));
        tracing::info!("openiav is serving");
        let (a, p, v) = tokio::join!(aggregation, payments, vendor);
        a.context("aggregation listener")?;
        p.context("payments listener")?;
        v.context("vendor-host listener")?;
        let _ = worker.await;
        let _ = deliveries.await;
        let _ = pruner.await;
        let _ = fixtures.await;
        recorder.flush().await;
        drop(recorder);
        self.store.close().await;
        tracing::info!("openiav stopped cleanly");
        Ok(())
    }
}
