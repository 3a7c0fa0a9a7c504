//! Client commands for a running daemon: `add`, `list`, `info`, `pause`, `resume`,
//! `rm`, `limit`. The API address and token come from the state directory (written by
//! `shoal daemon`) or `--api ADDR --token T`. Human-readable tables by default,
//! `--json` prints the API's JSON for scripts.

use super::daemon::state_root;
use crate::progress::human_bytes;
use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use shoal_daemon::api::types::{AddResponse, SessionInfo, TorrentDetail, TorrentSummary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The daemon's API address (default: from the state directory's api.json).
    #[arg(long, value_name = "ADDR")]
    pub api: Option<String>,
    /// The API token (default: from the state directory).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The daemon's state directory (default: the user's data directory).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// Torrent id: the info-hash in hex, or a unique prefix of at least 6 digits.
    pub id: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// A magnet or private link, a .torrent file, or a file or directory to share.
    pub source: String,
    /// Directory to download into (default: the daemon's).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Add it paused.
    #[arg(long)]
    pub paused: bool,
    /// Download pieces in order (for previews and streaming).
    #[arg(long)]
    pub sequential: bool,
    /// When sharing a path: a plain magnet link instead of a private link.
    #[arg(long)]
    pub public: bool,
    /// A peer to connect to (HOST:PORT); repeat for more.
    #[arg(long = "peer", value_name = "HOST:PORT")]
    pub peers: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Torrent id (hex info-hash or a unique prefix).
    pub id: String,
    /// Also delete the downloaded files.
    #[arg(long)]
    pub delete_data: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Upload limit (bytes/s; suffixes k, M, G; 0 or `none` = unlimited).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub up: Option<Rate>,
    /// Download limit (bytes/s; suffixes k, M, G; 0 or `none` = unlimited).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub down: Option<Rate>,
    /// Peer connections (global, or per torrent with --torrent).
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
    /// Change this torrent's limits instead of the global ones.
    #[arg(long, value_name = "ID")]
    pub torrent: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A rate limit: `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub Option<u64>);

/// `500k`, `2M`, `1.5M`, `1000`, `0`, `none`, `unlimited` (k = 1024).
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "none" || t == "unlimited" {
        return Ok(Rate(None));
    }
    let t = t.strip_suffix("/s").unwrap_or(&t);
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1024.0),
        Some('m') => (&t[..t.len() - 1], 1024.0 * 1024.0),
        Some('g') => (&t[..t.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (t, 1.0),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a rate: {s} (e.g. 500k, 2M, none)"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("not a rate: {s}"));
    }
    let bytes = (n * mult).round() as u64;
    Ok(Rate((bytes > 0).then_some(bytes)))
}

/// A connection to the daemon's API.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(args: &ClientArgs) -> anyhow::Result<Api> {
        let root = || state_root(args.state_dir.as_deref());
        let addr = match &args.api {
            Some(a) => a.clone(),
            None => shoal_daemon::state::read_api_info(&root()?)
                .context("cannot find the daemon (is `shoal daemon` running?)")?
                .address
                .to_string(),
        };
        let token = match &args.token {
            Some(t) => t.clone(),
            None => {
                shoal_daemon::state::read_token(&root()?).context("cannot read the API token")?
            }
        };
        let base = if addr.starts_with("http://") {
            addr.trim_end_matches('/').to_string()
        } else {
            format!("http://{addr}")
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("cannot create an HTTP client")?;
        Ok(Api { base, token, http })
    }

    /// Sends a request; returns the JSON body (`Null` for an empty one) or the API's
    /// error message.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {}", self.base))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .context("cannot read the daemon's reply")?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).context("the daemon's reply is not JSON")?
        };
        if !status.is_success() {
            let msg = value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("request failed");
            bail!("{msg} (HTTP {})", status.as_u16());
        }
        Ok(value)
    }

    async fn resolve(&self, id: &str) -> anyhow::Result<TorrentDetail> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/torrents/{id}"),
                None,
            )
            .await?;
        Ok(serde_json::from_value(v)?)
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let mut body = json!({ "paused": args.paused, "sequential": args.sequential });
    let src = args.source.as_str();
    if src.starts_with("magnet:") {
        body["magnet"] = json!(src);
    } else {
        let path = Path::new(src);
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {src}"))?;
        let is_torrent = meta.is_file() && src.to_ascii_lowercase().ends_with(".torrent");
        if is_torrent {
            use base64::Engine as _;
            let max = shoal_daemon::api::MAX_TORRENT_FILE;
            if meta.len() > max as u64 {
                anyhow::bail!(
                    "{src} is {} bytes, over the {max} byte limit for a torrent file",
                    meta.len()
                );
            }
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {src}"))?;
            body["torrent"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
        } else {
            let abs = std::fs::canonicalize(path).with_context(|| format!("cannot share {src}"))?;
            body["path"] = json!(abs.display().to_string());
            body["private"] = json!(!args.public);
        }
    }
    if let Some(dir) = &args.dir {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        body["download_dir"] = json!(abs.display().to_string());
    }
    if !args.peers.is_empty() {
        body["peers"] = json!(args.peers);
    }
    let v = api
        .call(reqwest::Method::POST, "/api/v1/torrents", Some(body))
        .await?;
    if args.client.json {
        print_json(&v);
    } else {
        let added: AddResponse = serde_json::from_value(v)?;
        println!("added {} {}", added.id, added.name);
        println!("{}", added.link);
    }
    Ok(ExitCode::SUCCESS)
}

fn state_name(s: &TorrentSummary) -> String {
    serde_json::to_value(s.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn rate(r: u64) -> String {
    if r == 0 {
        "-".into()
    } else {
        format!("{}/s", human_bytes(r))
    }
}

pub async fn list(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args)?;
    let v = api
        .call(reqwest::Method::GET, "/api/v1/torrents", None)
        .await?;
    if args.json {
        print_json(&v);
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<TorrentSummary> = serde_json::from_value(v)?;
    println!(
        "{:<12} {:<11} {:>6} {:>10} {:>11} {:>11} {:>5}  NAME",
        "ID", "STATE", "DONE", "SIZE", "DOWN", "UP", "PEERS"
    );
    for t in &list {
        println!(
            "{:<12} {:<11} {:>5.1}% {:>10} {:>11} {:>11} {:>5}  {}",
            &t.id[..12.min(t.id.len())],
            state_name(t),
            t.progress * 100.0,
            human_bytes(t.total_length),
            rate(t.download_rate),
            rate(t.upload_rate),
            t.peers,
            t.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn info(args: IdArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let v = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/torrents/{}", args.id),
            None,
        )
        .await?;
    if args.client.json {
        print_json(&v);
        return Ok(ExitCode::SUCCESS);
    }
    let d: TorrentDetail = serde_json::from_value(v)?;
    let s = &d.summary;
    let limit = |l: Option<u64>| l.map_or("none".to_string(), |n| format!("{}/s", human_bytes(n)));
    println!("name:       {}", s.name);
    println!("id:         {}", d.info_hash);
    println!("state:      {}", state_name(s));
    println!(
        "progress:   {:.1}% of {} ({} / {} pieces of {})",
        s.progress * 100.0,
        human_bytes(s.total_length),
        d.have_pieces,
        d.num_pieces,
        human_bytes(d.piece_length as u64)
    );
    println!(
        "rates:      down {}  up {}",
        rate(s.download_rate),
        rate(s.upload_rate)
    );
    println!(
        "transfer:   downloaded {}  uploaded {}  ratio {:.2}",
        human_bytes(s.downloaded),
        human_bytes(s.uploaded),
        s.ratio
    );
    if s.refused_peers.is_empty() {
        println!("peers:      {}", s.peers);
    } else {
        println!("peers:      {} ({})", s.peers, s.refused_peers);
    }
    println!("directory:  {}", d.download_dir);
    println!(
        "limits:     down {}  up {}",
        limit(d.download_limit),
        limit(d.upload_limit)
    );
    if let Some(e) = &s.error {
        println!("error:      {e}");
    }
    println!("link:       {}", d.link);
    Ok(ExitCode::SUCCESS)
}

async fn simple(args: IdArgs, action: &str) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let d = api.resolve(&args.id).await?;
    api.call(
        reqwest::Method::POST,
        &format!("/api/v1/torrents/{}/{action}", d.info_hash),
        None,
    )
    .await?;
    if args.client.json {
        print_json(&json!({ "id": d.info_hash, "action": action }));
    } else {
        println!("{action}d {} {}", d.info_hash, d.summary.name);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn pause(args: IdArgs) -> anyhow::Result<ExitCode> {
    simple(args, "pause").await
}

pub async fn resume(args: IdArgs) -> anyhow::Result<ExitCode> {
    simple(args, "resume").await
}

pub async fn rm(args: RmArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let d = api.resolve(&args.id).await?;
    api.call(
        reqwest::Method::DELETE,
        &format!(
            "/api/v1/torrents/{}?delete_data={}",
            d.info_hash, args.delete_data
        ),
        None,
    )
    .await?;
    if args.client.json {
        print_json(
            &json!({ "id": d.info_hash, "removed": true, "deleted_data": args.delete_data }),
        );
    } else {
        let how = if args.delete_data {
            " and its data"
        } else {
            ""
        };
        println!("removed {} {}{how}", d.info_hash, d.summary.name);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn limit(args: LimitArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let mut body = json!({});
    if let Some(Rate(r)) = args.up {
        body["upload_limit"] = json!(r);
    }
    if let Some(Rate(r)) = args.down {
        body["download_limit"] = json!(r);
    }
    let changed = body.as_object().is_some_and(|o| !o.is_empty()) || args.connections.is_some();
    let limit = |l: Option<u64>| l.map_or("none".to_string(), |n| format!("{}/s", human_bytes(n)));
    match &args.torrent {
        Some(id) => {
            if let Some(n) = args.connections {
                body["max_peers"] = json!(n);
            }
            let d = api.resolve(id).await?;
            let path = format!("/api/v1/torrents/{}", d.info_hash);
            let v = if changed {
                api.call(reqwest::Method::PATCH, &path, Some(body)).await?
            } else {
                api.call(reqwest::Method::GET, &path, None).await?
            };
            if args.client.json {
                print_json(&v);
            } else {
                let d: TorrentDetail = serde_json::from_value(v)?;
                println!(
                    "{}: down {}  up {}  peers {}",
                    d.summary.name,
                    limit(d.download_limit),
                    limit(d.upload_limit),
                    d.max_peers.map_or("default".to_string(), |n| n.to_string())
                );
            }
        }
        None => {
            if let Some(n) = args.connections {
                body["max_connections"] = json!(n);
            }
            let v = if changed {
                api.call(reqwest::Method::PATCH, "/api/v1/session", Some(body))
                    .await?
            } else {
                api.call(reqwest::Method::GET, "/api/v1/session", None)
                    .await?
            };
            if args.client.json {
                print_json(&v);
            } else {
                let s: SessionInfo = serde_json::from_value(v)?;
                println!(
                    "global: down {}  up {}  connections {}  active downloads {}  active seeds {}",
                    limit(s.download_limit),
                    limit(s.upload_limit),
                    s.max_connections,
                    s.max_active_downloads,
                    s.max_active_seeds
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("500k").unwrap(), Rate(Some(512_000)));
        assert_eq!(parse_rate("2M").unwrap(), Rate(Some(2 * 1024 * 1024)));
        assert_eq!(parse_rate("1000").unwrap(), Rate(Some(1000)));
        assert_eq!(parse_rate("0").unwrap(), Rate(None));
        assert_eq!(parse_rate("none").unwrap(), Rate(None));
        assert_eq!(parse_rate("1.5k").unwrap(), Rate(Some(1536)));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1").is_err());
    }
}
