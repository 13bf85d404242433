//! Measures the alternative to reloads that the issue asks to weigh: a Lua balancer (Debian's
//! `libnginx-mod-http-lua`, the way ingress-nginx moves traffic) that reads the weights from a shared dict
//! changed over HTTP, so nginx never reloads. It runs the same load and steps as scenario 1 of
//! `nginx_switchover.rs` and prints the raw connection closes and the split per step, next to the
//! reload-based shifter's figures.
//!
//! Needs `SHADOW_NGINX_BIN` (from `./scripts/test.sh`) and the Lua module; skips with a message otherwise.
//! Figures: `./scripts/test.sh -- -p shadow-tests --test nginx_lua_balancer -- --nocapture`.

mod nginx_support;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use nginx_support::{Backend, Load, SideStats};
use shadow_core::Environment;

const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_lua_module.so";
const NDK: &str = "/usr/lib/nginx/modules/ndk_http_module.so";

/// A child nginx with a Lua balancer; stopped on drop.
struct LuaNginx {
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for LuaNginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its worker; a SIGKILL would orphan the worker, still listening.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(dir: &Path, listen: std::net::SocketAddr) -> String {
    // Request n goes to the shadow when (n * 7919) mod 10000 < shadow_bp: 7919 is prime to 10000, so every
    // 10000 consecutive requests hold exactly shadow_bp shadow picks.
    format!(
        r#"load_module {NDK};
load_module {MODULE};
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  lua_shared_dict shadow 1m;
  upstream lua_split {{
    server 0.0.0.1;
    balancer_by_lua_block {{
      local balancer = require "ngx.balancer"
      local d = ngx.shared.shadow
      local n = d:incr("n", 1, 0)
      local key = ((n * 7919) % 10000 < (d:get("shadow_bp") or 0)) and "shadow" or "live"
      local host, port = string.match(d:get(key), "^([%d.]+):(%d+)$")
      assert(balancer.set_current_peer(host, tonumber(port)))
    }}
    keepalive 32;
  }}
  server {{
    listen {listen};
    keepalive_requests 100000;
    location = /.shadow/set {{
      content_by_lua_block {{
        local d = ngx.shared.shadow
        d:set("live", ngx.var.arg_live)
        d:set("shadow", ngx.var.arg_shadow)
        d:set("shadow_bp", tonumber(ngx.var.arg_bp))
        ngx.say("shadow_bp=", d:get("shadow_bp"))
      }}
    }}
    location / {{
      proxy_pass http://lua_split;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"#,
        dir = dir.display()
    )
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_balancer_moves_traffic_without_closing_connections() {
    let Some(bin) = std::env::var_os("SHADOW_NGINX_BIN") else {
        eprintln!("skipping: SHADOW_NGINX_BIN is not set; `./scripts/test.sh` starts nginx and sets it");
        return;
    };
    if !Path::new(MODULE).exists() {
        eprintln!("skipping: {MODULE} is missing (Debian package libnginx-mod-http-lua)");
        return;
    }
    let stats = Arc::new(SideStats::default());
    let live = Backend::start(Environment::Live, stats.clone()).await;
    let shadow = Backend::start(Environment::Shadow, stats.clone()).await;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("shadow-lua-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("nginx.conf"), config(&dir, listen)).unwrap();
    let child = std::process::Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .spawn()
        .unwrap();
    let _nginx = LuaNginx { child, dir };
    let set = |bp: u16| {
        let path = format!("/.shadow/set?bp={bp}&live={}&shadow={}", live.addr, shadow.addr);
        async move { get(listen, &path).await }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if tokio::net::TcpStream::connect(listen).await.is_ok() && set(0).await.contains("shadow_bp=0") {
            break;
        }
        assert!(Instant::now() < deadline, "the Lua nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let load = Load {
        target: listen,
        rate: 2_500.0,
        connections: 16,
        max_time: Duration::from_secs(60),
        max_requests: 150_000,
    };
    let handle = tokio::spawn(load.run(start, Utc::now(), stop.clone(), stats));
    let mut marks = vec![(0u16, start.elapsed())];
    tokio::time::sleep(Duration::from_secs(2)).await;
    for bp in [100u16, 500, 2_500, 5_000, 10_000] {
        assert!(set(bp).await.contains(&format!("shadow_bp={bp}")));
        marks.push((bp, start.elapsed()));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let report = handle.await.unwrap();
    println!(
        "lua balancer: sent {} in {:.1} s ({:.0} req/s), failed {}, raw connection closes {} over {} weight changes",
        report.sent,
        report.elapsed.as_secs_f64(),
        report.rate(),
        report.failed,
        report.raw_closes,
        marks.len() - 1
    );
    for (i, (bp, from)) in marks.iter().enumerate() {
        let to = marks.get(i + 1).map_or(report.elapsed, |m| m.1);
        let (share, n) = report.shadow_share(*from, to);
        println!(
            "  target shadow {:>5.1}%: served {:>6.2}% of {n}",
            f64::from(*bp) / 100.0,
            share * 100.0
        );
        assert!((share - f64::from(*bp) / 10_000.0).abs() <= 0.05, "{bp}: {share}");
    }
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.raw_closes, 0, "no reload, so no connection should close");
}
