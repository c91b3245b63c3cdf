//! The `openiav` binary: parses the command line and hands over to the library.

use anyhow::Context;
use clap::Parser;
use openiav_core::aggregation::MxWebhookType;
use openiav_core::clock::{Clock, SystemClock};
use openiav_core::crypto::{Keyring, MasterKey};
use openiav_core::ids::TenantId;
use openiav_server::app::App;
use openiav_server::bootstrap::{self, PresetCredentials};
use openiav_server::config::{CaCommand, Cli, Command, DemoArgs, ServeArgs, TenantCommand};
use openiav_server::demo::Target;
use openiav_server::{keys, telemetry};
use openiav_store::repo::tenants;
use openiav_store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            let key = keys::load_or_create(cli.encryption_key.as_deref(), cli.key_file.as_deref(), &cli.database)?;
            let app = App::build_default(&cli.database, &key, *args).await?;
            if let Some(tenant) = &app.sandbox {
                println!("{}", bootstrap::sandbox_banner(tenant));
            }
            println!(
                "openiav is listening: aggregation (MX) on http://{}, payments (Dwolla) on http://{}",
                app.aggregation_addr(),
                app.payments_addr()
            );
            if let (Some(addr), Some(ca)) = (app.vendor_hosts_addr(), app.vendor_hosts_ca_file()) {
                println!(
                    "vendor hosts (TLS) on https://{addr}: {}; trust {}",
                    openiav_server::vendor_hosts::host_names().join(", "),
                    ca.display()
                );
            }
            // Before the first accept; logged after the banner, which scripts read first.
            raise_open_file_limit();
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Tenant(TenantCommand::Create { name, json }) => {
            let store = Store::open(&cli.database).await.context("opening the database")?;
            let issued =
                bootstrap::create_tenant(&store, &SystemClock, &name, false, PresetCredentials::default()).await?;
            store.close().await;
            if json {
                println!("{}", serde_json::to_string(&issued)?);
            } else {
                println!(
                    "tenant {} created\n  MX client_id: {}\n  MX api_key:   {}\n  Dwolla key:    {}\n  Dwolla secret: {}",
                    issued.id, issued.mx.client_id, issued.mx.api_key, issued.dwolla.key, issued.dwolla.secret
                );
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Settings {
            id,
            redirect_urls,
            open_banking,
            mx_webhook_url,
            mx_webhook_type,
            mx_webhook_basic_auth,
            clear_mx_webhooks,
        }) => {
            let tenant = TenantId::parse(&id).context("--id is not a tenant id")?;
            let store = Store::open(&cli.database).await.context("opening the database")?;
            if clear_mx_webhooks || mx_webhook_url.is_some() {
                let key = keys::load_or_create(cli.encryption_key.as_deref(), cli.key_file.as_deref(), &cli.database)?;
                let webhooks = mx_webhook_settings(
                    &store,
                    &Keyring::new(&key),
                    tenant,
                    MxWebhookChange {
                        url: mx_webhook_url,
                        kind: mx_webhook_type,
                        basic_auth: mx_webhook_basic_auth,
                        clear: clear_mx_webhooks,
                    },
                )
                .await;
                if let Err(e) = webhooks {
                    store.close().await;
                    return Err(e);
                }
            }
            let settings = store
                .write(move |c| {
                    Box::pin(async move {
                        tenants::get(c, tenant).await?;
                        let mut settings = tenants::payment_settings(c, tenant).await?;
                        if !redirect_urls.is_empty() {
                            settings.redirect_urls = redirect_urls;
                        }
                        if let Some(on) = open_banking {
                            settings.open_banking = on;
                        }
                        tenants::set_payment_settings(c, tenant, &settings).await?;
                        Ok(settings)
                    })
                })
                .await
                .context("updating the tenant's settings")?;
            store.close().await;
            println!("open banking: {}; redirect URLs: {}", settings.open_banking, settings.redirect_urls.join(", "));
            Ok(())
        }
        Command::Demo(args) => demo(args).await,
        Command::Sandbox(args) => openiav_server::sandbox::run(args).await,
        Command::Ca(CaCommand::Path { dir }) => {
            // Only the path on stdout, so that `$(openiav ca path)` is the file.
            let (path, made) = openiav_server::vendor_hosts::ca_path(dir.as_deref(), &cli.database)?;
            if made {
                eprintln!("generated a local CA for vendor-host mode");
            }
            println!("{}", path.display());
            Ok(())
        }
        Command::Migrate => {
            let store = Store::open(&cli.database).await.context("opening the database")?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
    }
}

/// A change of a tenant's MX webhook URLs asked for on the command line.
struct MxWebhookChange {
    url: Option<String>,
    kind: Option<String>,
    basic_auth: Option<String>,
    clear: bool,
}

/// Applies `change` to the tenant's MX webhook URLs and prints them (never a password).
async fn mx_webhook_settings(
    store: &Store,
    keyring: &Keyring,
    tenant: TenantId,
    change: MxWebhookChange,
) -> anyhow::Result<()> {
    use openiav_aggregation::webhooks::settings;
    store.read(|mut c| async move { tenants::get(&mut c, tenant).await }).await.context("finding the tenant")?;
    let kind = match change.kind.as_deref() {
        None | Some("") | Some("ALL") => None,
        Some(k) => Some(k.to_ascii_uppercase().parse::<MxWebhookType>().map_err(|_| {
            let names: Vec<&str> = MxWebhookType::ALL.iter().map(|t| t.as_str()).collect();
            anyhow::anyhow!("--mx-webhook-type {k:?} is not one of {}", names.join(", "))
        })?),
    };
    let basic = change.basic_auth.as_deref().map(settings::parse_basic_auth).transpose()?;
    if change.clear {
        settings::clear(store, tenant).await?;
    }
    if let Some(url) = change.url {
        settings::configure(store, keyring, SystemClock.now(), tenant, kind, &url, basic).await?;
    }
    let described = settings::describe(store, tenant).await?;
    if described.is_empty() {
        println!("MX webhooks: none");
    } else {
        println!("MX webhooks: {}", described.join("; "));
    }
    Ok(())
}

/// Runs the demo against the given server, or against an embedded one on a throwaway database.
async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(payments) = args.payments_url {
        let (Some(key), Some(secret)) = (args.key, args.secret) else {
            anyhow::bail!("--payments-url needs --key and --secret (the Dwolla application credentials)");
        };
        return openiav_server::demo::run(Target { payments: payments.trim_end_matches('/').to_owned(), key, secret })
            .await;
    }
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let database = format!("sqlite://{}", dir.path().join("demo.db").display());
    let app = App::build_default(&database, &MasterKey::generate(), ServeArgs::ephemeral()).await?;
    let tenant = app.sandbox.clone().context("the embedded server bootstrapped no sandbox tenant")?;
    let target = Target {
        payments: format!("http://{}", app.payments_addr()),
        key: tenant.dwolla.key,
        secret: tenant.dwolla.secret,
    };
    println!(
        "openiav demo: embedded server, aggregation (MX) on http://{}, payments (Dwolla) on {}",
        app.aggregation_addr(),
        target.payments
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let outcome = openiav_server::demo::run(target).await;
    let _ = stop.send(());
    server.await.context("the embedded server")??;
    outcome
}

/// Lifts the soft open-file limit to the hard one, so a flood of sockets meets the connection
/// timeouts before it meets the descriptor limit.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}
