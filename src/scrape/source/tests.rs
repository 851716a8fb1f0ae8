use super::*;
use crate::spec::load::load_bytes;

fn slos(text: &str) -> Vec<Slo> {
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos
}

const SPECS: &str = r#"
version: sloburn/v1
service: shop
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="shop",code=~"5.."}
        total: http_requests_total{job="shop"}
  - name: routes
    objective: 99
    group_by: [route]
    sli:
      ratio:
        errors: http_requests_total{code="500"}
        total: http_requests_total
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: lat_seconds
        threshold: 0.3
  - name: pool
    objective: 99
    sli:
      threshold:
        query: max(pool{job="shop"})
        op: "<"
        value: 0.8
        slice: 1m
"#;

/// A target whose exposition the test sets, on 127.0.0.1 (gzip-encoded when `gzip` is set).
struct Target {
    url: String,
    body: Arc<Mutex<String>>,
    gzip: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

use std::sync::Arc;

async fn target() -> Target {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let body = Arc::new(Mutex::new(String::new()));
    let gzip = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (b, z) = (body.clone(), gzip.clone());
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let text = b.lock().unwrap().clone();
            let zipped = z.load(std::sync::atomic::Ordering::Relaxed);
            // Compressed only when the scraper says it accepts gzip, as a real server does.
            let (bytes, encoding) = if zipped && request.contains("accept-encoding: gzip") {
                use std::io::Write;
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(text.as_bytes()).unwrap();
                (e.finish().unwrap(), "Content-Encoding: gzip\r\n")
            } else {
                assert!(!zipped, "the scraper did not ask for gzip");
                (text.into_bytes(), "")
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&bytes).await;
        }
    });
    Target {
        url,
        body,
        gzip,
        task,
    }
}

/// Scraping `url` every 15 s as job `shop`.
fn shop_config(url: &str) -> ScrapeConfig {
    ScrapeConfig {
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(2),
        targets: vec![TargetConfig {
            url: url.to_string(),
            labels: [("job".to_string(), "shop".to_string())].into(),
        }],
        max_series: 1000,
        max_bytes: 1 << 20,
    }
}

fn exposition(ok: [u64; 2], err: [u64; 2], fast: u64, count: u64, pool: f64) -> String {
    format!(
        "# TYPE http_requests_total counter\n\
         http_requests_total{{route=\"/a\",code=\"200\"}} {}\n\
         http_requests_total{{route=\"/a\",code=\"500\"}} {}\n\
         http_requests_total{{route=\"/b\",code=\"200\"}} {}\n\
         http_requests_total{{route=\"/b\",code=\"500\"}} {}\n\
         lat_seconds_bucket{{le=\"0.1\"}} {}\nlat_seconds_bucket{{le=\"0.3\"}} {fast}\nlat_seconds_bucket{{le=\"+Inf\"}} {count}\nlat_seconds_count {count}\n\
         pool {pool}\n",
        ok[0],
        err[0],
        ok[1],
        err[1],
        fast / 2
    )
}

#[tokio::test]
async fn scraped_counts_equal_the_truth_across_a_target_restart() {
    let t = target().await;
    let config = shop_config(&t.url);
    let (scraper, refused) = Scraper::new(config, &slos(SPECS)).unwrap();
    assert!(refused.is_empty());
    // 20 minutes of scrapes every 15s on a fake clock; the target restarts after minute 12.
    let start = 1_800_000_000.0;
    let (mut ok, mut err, mut fast, mut count) = ([0u64; 2], [0u64; 2], 0u64, 0u64);
    let (mut true_bad, mut true_total) = (0.0, 0.0);
    let mut true_route_b = (0.0, 0.0);
    let (mut lat_bad, mut lat_total) = (0.0, 0.0);
    let (mut pool_bad, mut pool_total) = (0.0, 0.0);
    for i in 0..80 {
        let now = start + i as f64 * 15.0;
        // Half the scrapes are gzip-encoded.
        t.gzip
            .store(i % 2 == 0, std::sync::atomic::Ordering::Relaxed);
        if i == 48 {
            // Restart: every counter starts again from zero.
            (ok, err, fast, count) = ([0; 2], [0; 2], 0, 0);
        }
        let minute = (i / 4) as u64;
        let (a_ok, a_err, b_ok, b_err) = (100, minute % 3, 50, if minute == 7 { 20 } else { 1 });
        let (f, c) = (190 - minute, 200);
        if i > 0 {
            ok[0] += a_ok;
            err[0] += a_err;
            ok[1] += b_ok;
            err[1] += b_err;
            fast += f;
            count += c;
            // The first scrape only sets the starting point; after a restart the new values
            // themselves are the increase.
            true_bad += (a_err + b_err) as f64;
            true_total += (a_ok + a_err + b_ok + b_err) as f64;
            true_route_b.0 += b_err as f64;
            true_route_b.1 += (b_ok + b_err) as f64;
            lat_bad += (c - f) as f64;
            lat_total += c as f64;
        }
        let pool = if (20..28).contains(&i) { 0.9 } else { 0.5 };
        if i % 4 == 0 {
            pool_total += 1.0;
            if pool >= 0.8 {
                pool_bad += 1.0;
            }
        }
        *t.body.lock().unwrap() = exposition(ok, err, fast, count, pool);
        scraper.scrape_once(now).await;
    }
    let until = start as i64 + 21 * 60;
    let sum = |id: &str, group: Option<&str>| {
        scraper
            .drain(id, until)
            .into_iter()
            .filter(|(k, ..)| group.is_none_or(|g| k == g))
            .fold(Counts::default(), |a, (_, _, _, c)| a + c)
    };
    let avail = sum("shop/avail", None);
    assert_eq!((avail.bad, avail.total), (true_bad, true_total));
    let b = sum("shop/routes", Some("route=/b"));
    assert_eq!((b.bad, b.total), true_route_b);
    let lat = sum("shop/latency", None);
    assert_eq!((lat.bad, lat.total), (lat_bad, lat_total));
    let pool = sum("shop/pool", None);
    assert_eq!((pool.bad, pool.total), (pool_bad, pool_total));
    let (targets, outcomes, _) = scraper.stats();
    assert!(targets[0].up);
    assert_eq!(outcomes["success"], 80);
    assert!(scraper.fresh("shop/avail"));
}

#[tokio::test]
async fn templated_slis_are_refused_and_a_dead_target_is_down() {
    let specs = format!(
        "{SPECS}  - name: sloth\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: x[{{{{.window}}}}]\n"
    );
    let config = ScrapeConfig {
        interval: Duration::from_secs(15),
        timeout: Duration::from_millis(500),
        targets: vec![TargetConfig {
            url: "http://127.0.0.1:1/metrics".into(),
            labels: Default::default(),
        }],
        max_series: 1000,
        max_bytes: 1 << 20,
    };
    let (scraper, refused) = Scraper::new(config, &slos(&specs)).unwrap();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].message.contains("needs a Prometheus"),
        "{}",
        refused[0]
    );
    scraper.scrape_once(1_800_000_000.0).await;
    let (targets, outcomes, _) = scraper.stats();
    assert!(!targets[0].up);
    assert_eq!(outcomes["unreachable"], 1);
    assert!(!scraper.fresh("shop/avail"));
}

/// A reload builds a new scraper: it takes over the old one's baselines and pending minutes
/// for the SLOs that did not change, so no event is lost; an SLO whose SLI changed starts
/// afresh (the old counts were of something else).
#[tokio::test]
async fn a_reload_keeps_pending_minutes_and_baselines() {
    let t = target().await;
    let config = shop_config(&t.url);
    let (first, _) = Scraper::new(config.clone(), &slos(SPECS)).unwrap();
    // The reloaded specs: `routes` now counts only code 503 as bad.
    let changed = SPECS.replace(
        r#"errors: http_requests_total{code="500"}"#,
        r#"errors: http_requests_total{code="503"}"#,
    );
    let (second, _) = Scraper::new(config, &slos(&changed)).unwrap();
    let start = 1_800_000_000.0;
    let (mut ok, mut err) = ([0u64; 2], [0u64; 2]);
    let (mut true_bad, mut true_total) = (0.0, 0.0);
    for i in 0..24 {
        if i > 0 {
            ok[0] += 100;
            err[0] += 2;
            ok[1] += 50;
            err[1] += 1;
            true_bad += 3.0;
            true_total += 153.0;
        }
        *t.body.lock().unwrap() = exposition(ok, err, 0, 0, 0.5);
        let scraper = if i < 10 { &first } else { &second };
        if i == 10 {
            second.carry_over(&first);
        }
        scraper.scrape_once(start + i as f64 * 15.0).await;
    }
    let until = start as i64 + 10 * 60;
    let avail = second
        .drain("shop/avail", until)
        .into_iter()
        .fold(Counts::default(), |a, (_, _, _, c)| a + c);
    assert_eq!((avail.bad, avail.total), (true_bad, true_total));
    // The changed SLO counts from the second scraper's second scrape on: 13 increases of 0
    // bad (no 503s) and 153 requests... of route /a and /b together, grouped by route.
    let routes = second
        .drain("shop/routes", until)
        .into_iter()
        .fold(Counts::default(), |a, (_, _, _, c)| a + c);
    assert_eq!((routes.bad, routes.total), (0.0, 13.0 * 153.0));
    assert!(
        first.drain("shop/avail", until).is_empty(),
        "moved, not copied"
    );
}
