//! cargo's `[http]` settings apply to cargo-shipper's own requests: a
//! proxy and a user agent named only in cargo's config carry every upload
//! and index read, as they carry `cargo publish`'s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::support::{TestRegistry, chain};

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// The absolute URL (proxy form).
    url: String,
    user_agent: String,
}

/// A loopback HTTP proxy (plain HTTP, absolute-form requests): forwards
/// each request to its origin with `Connection: close`, relays the answer,
/// closes the client's connection, and records what it forwarded.
fn start_proxy() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let log = log.clone();
            std::thread::spawn(move || {
                let _ = forward(client, &log);
            });
        }
    });
    (address, seen)
}

fn forward(client: TcpStream, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, url) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let mut headers = Vec::new();
    let mut length = 0usize;
    let mut user_agent = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "user-agent" => user_agent = value.trim().to_owned(),
            "connection" | "proxy-connection" => continue,
            _ => {}
        }
        headers.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let rest = url
        .strip_prefix("http://")
        .expect("a plain-HTTP proxy request");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    log.lock().unwrap().push(Seen {
        method: method.clone(),
        url: url.clone(),
        user_agent,
    });
    let mut origin = TcpStream::connect(host)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for header in headers {
        head.push_str(&header);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    origin.write_all(head.as_bytes())?;
    origin.write_all(&body)?;
    let mut answer = Vec::new();
    origin.read_to_end(&mut answer)?;
    let mut client = client;
    client.write_all(&answer)?;
    client.shutdown(std::net::Shutdown::Both)
}

#[test]
fn a_proxy_and_user_agent_in_cargos_config_carry_every_request() {
    let registry = TestRegistry::start();
    let (proxy, seen) = start_proxy();
    let fx = chain(&["hp-a", "hp-b"]);
    fx.use_registry(&registry);
    fx.cargo_config(&format!(
        "[http]\nproxy = \"{proxy}\"\nuser-agent = \"corp-agent/1\"\n"
    ));
    let mut publish = fx
        .publish_cmd(&registry)
        .retry_delay_ms(None)
        .arg("--no-verify");
    // cargo's config is the only place that names the proxy.
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
        "CARGO_HTTP_PROXY",
    ] {
        publish = publish.env_remove(var);
    }
    publish.run().ok();
    for name in ["hp-a", "hp-b"] {
        assert_eq!(registry.index_entry(name).status, 200, "{name}");
    }

    let seen = seen.lock().unwrap().clone();
    let uploads: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == "PUT" && s.url.ends_with("/api/v1/crates/new"))
        .collect();
    assert_eq!(
        uploads.len(),
        2,
        "both uploads through the proxy: {seen:#?}"
    );
    let config_reads = seen
        .iter()
        .filter(|s| s.url.ends_with("/config.json"))
        .count();
    assert!(
        config_reads >= 1,
        "config.json through the proxy: {seen:#?}"
    );
    // Every crate is packaged before the first upload, so a read of
    // `hp-a`'s index file after its upload is the poller's, not cargo's.
    let first_upload = seen
        .iter()
        .position(|s| s.method == "PUT")
        .expect("an upload");
    let polls = seen[first_upload..]
        .iter()
        .filter(|s| s.method == "GET" && s.url.ends_with("/hp/-a/hp-a"))
        .count();
    assert!(polls >= 1, "index polls through the proxy: {seen:#?}");
    for upload in uploads {
        assert_eq!(upload.user_agent, "corp-agent/1");
    }
}
