//! Validated upstream definitions and the config text rendered from them.
//!
//! Nothing a user writes reaches the rendered file as text: addresses are parsed into [`SocketAddr`]s and
//! printed back, weights are integers, and the only name (the upstream's) is a service id that
//! [`ServiceId`] already restricts to `[A-Za-z0-9._-]` (a `/` is refused here). So a config cannot inject
//! directives.

use std::{net::SocketAddr, str::FromStr};

use shadow_core::{Error, Result, ServiceId, TrafficSplit, TrafficWeight};

use super::KIND;

/// The path of the read-back location in every rendered server block.
pub const STATUS_PATH: &str = "/.shadow/split";

/// One service's validated upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The service.
    pub service: ServiceId,
    /// Where the rendered server block listens.
    pub listen: SocketAddr,
    /// Live backends (at least one).
    pub live: Vec<SocketAddr>,
    /// Shadow backends (at least one).
    pub shadow: Vec<SocketAddr>,
    /// The health path, starting with `/`.
    pub health_path: String,
    /// Idle keep-alive connections to the backends.
    pub keepalive: u32,
}

/// Parses a literal `IP:port`. Host names are refused: they would be resolved by nginx at load time.
///
/// # Errors
/// [`Error::Config`] naming `field`.
pub fn parse_addr(field: &str, text: &str) -> Result<SocketAddr> {
    let addr = SocketAddr::from_str(text.trim()).map_err(|_| {
        Error::config(
            field,
            format!("`{text}` is not a literal IP:port (such as 127.0.0.1:8080)"),
        )
    })?;
    if addr.port() == 0 {
        return Err(Error::config(field, format!("`{text}` has port 0")));
    }
    Ok(addr)
}

impl Upstream {
    /// Validates one service's section.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: a service id with `/`, an address that is not a literal `IP:port`,
    /// a side without backends, a backend on both sides, or a health path that is not an absolute path of
    /// printable ASCII without spaces.
    pub fn new(section: &str, service: ServiceId, cfg: &super::config::NginxServiceConfig) -> Result<Self> {
        let field = |f: &str| format!("{section}.services.{service}.{f}");
        if service.as_str().contains('/') {
            return Err(Error::config(
                format!("{section}.services.{service}"),
                "an nginx upstream name cannot contain '/'",
            ));
        }
        let listen = parse_addr(&field("listen"), &cfg.listen)?;
        let side = |name: &str, list: &[String]| -> Result<Vec<SocketAddr>> {
            if list.is_empty() {
                return Err(Error::config(field(name), "needs at least one backend"));
            }
            let mut out: Vec<SocketAddr> = Vec::with_capacity(list.len());
            for (i, a) in list.iter().enumerate() {
                let addr = parse_addr(&format!("{}[{i}]", field(name)), a)?;
                if out.contains(&addr) {
                    return Err(Error::config(field(name), format!("{addr} is listed twice")));
                }
                out.push(addr);
            }
            Ok(out)
        };
        let live = side("live", &cfg.live)?;
        let shadow = side("shadow", &cfg.shadow)?;
        if let Some(both) = live.iter().find(|a| shadow.contains(a) || **a == listen) {
            return Err(Error::config(
                field("shadow"),
                format!("{both} appears twice among listen, live and shadow"),
            ));
        }
        if shadow.contains(&listen) {
            return Err(Error::config(
                field("listen"),
                format!("{listen} is also a backend"),
            ));
        }
        let health_path = cfg.health_path.clone().unwrap_or_else(|| "/healthz".to_string());
        if !health_path.starts_with('/') || !health_path.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::config(
                field("health_path"),
                format!("`{health_path}` must be an absolute path of printable ASCII without spaces"),
            ));
        }
        let keepalive = cfg.keepalive.unwrap_or(32);
        if keepalive > 10_000 {
            return Err(Error::config(field("keepalive"), "must be at most 10000"));
        }
        Ok(Self {
            service,
            listen,
            live,
            shadow,
            health_path,
            keepalive,
        })
    }

    /// The upstream's name in the rendered config.
    #[must_use]
    pub fn upstream_name(&self) -> String {
        format!("shadow_{}", self.service)
    }

    /// The file the upstream is written to, inside the include directory.
    #[must_use]
    pub fn file_name(&self) -> String {
        format!("shadow-{}.conf", self.service)
    }

    /// The nginx `weight` of one live and one shadow server for `split`, reduced by their common divisor;
    /// `0` means the side is marked `down`.
    #[must_use]
    pub fn server_weights(&self, split: TrafficSplit) -> (u32, u32) {
        let shadow_bp = u32::from(split.shadow.basis_points());
        let live_bp = 10_000 - shadow_bp;
        // Each live server gets live_bp * n_shadow and each shadow server shadow_bp * n_live, so the sides'
        // totals are in the ratio live_bp : shadow_bp whatever the number of servers.
        let live = live_bp * self.shadow.len() as u32;
        let shadow = shadow_bp * self.live.len() as u32;
        let g = gcd(live, shadow).max(1);
        (live / g, shadow / g)
    }

    /// Renders the upstream and its server block for `split`, tagged with `generation`.
    #[must_use]
    pub fn render(&self, split: TrafficSplit, generation: u64) -> String {
        let (wl, ws) = self.server_weights(split);
        let server = |addr: &SocketAddr, w: u32| {
            if w == 0 {
                format!("    server {addr} down;\n")
            } else {
                format!("    server {addr} weight={w} max_fails=0;\n")
            }
        };
        let mut out = String::new();
        out.push_str("# Generated by shadow (nginx traffic shifter); rewritten on every weight change.\n");
        out.push_str(&format!("upstream {} {{\n", self.upstream_name()));
        for a in &self.live {
            out.push_str(&server(a, wl));
        }
        for a in &self.shadow {
            out.push_str(&server(a, ws));
        }
        out.push_str(&format!("    keepalive {};\n}}\n", self.keepalive));
        out.push_str(&format!(
            "server {{\n    listen {listen};\n    access_log off;\n    keepalive_requests 100000;\n\
             \x20   location = {STATUS_PATH} {{\n        default_type text/plain;\n        return 200 \"{body}\\n\";\n    }}\n\
             \x20   location / {{\n        proxy_pass http://{name};\n        proxy_http_version 1.1;\n\
             \x20       proxy_set_header Connection \"\";\n    }}\n}}\n",
            listen = self.listen,
            body = status_body(&self.service, split, generation),
            name = self.upstream_name(),
        ));
        out
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The body of the read-back location: `service=<id> live_bp=<n> shadow_bp=<n> generation=<n>`.
#[must_use]
pub fn status_body(service: &ServiceId, split: TrafficSplit, generation: u64) -> String {
    format!(
        "service={service} live_bp={} shadow_bp={} generation={generation}",
        split.live().basis_points(),
        split.shadow.basis_points()
    )
}

/// Parses a read-back body into the split and generation nginx serves.
///
/// # Errors
/// [`Error::Conflict`] when the body is for another service or is malformed.
pub fn parse_status(service: &ServiceId, body: &str) -> Result<(TrafficSplit, u64)> {
    let bad = |why: &str| Error::Conflict {
        provider: KIND,
        message: format!("read-back of {service}: {why}: `{}`", body.trim()),
    };
    let mut svc = None;
    let (mut live, mut shadow, mut generation) = (None, None, None);
    for part in body.split_whitespace() {
        let (k, v) = part.split_once('=').ok_or_else(|| bad("not key=value"))?;
        match k {
            "service" => svc = Some(v),
            "live_bp" => live = v.parse::<u16>().ok(),
            "shadow_bp" => shadow = v.parse::<u16>().ok(),
            "generation" => generation = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    if svc != Some(service.as_str()) {
        return Err(bad("another service"));
    }
    let (Some(live), Some(shadow), Some(generation)) = (live, shadow, generation) else {
        return Err(bad("missing field"));
    };
    if u32::from(live) + u32::from(shadow) != 10_000 {
        return Err(bad("weights do not add up to 100%"));
    }
    let shadow = TrafficWeight::try_new(shadow).map_err(|_| bad("shadow weight out of range"))?;
    Ok((TrafficSplit::to_shadow(shadow), generation))
}

#[cfg(test)]
mod tests {
    use super::{super::config::NginxServiceConfig, *};

    fn svc() -> ServiceId {
        ServiceId::new("checkout").unwrap()
    }

    fn upstream(live: &[&str], shadow: &[&str]) -> Result<Upstream> {
        Upstream::new(
            "traffic",
            svc(),
            &NginxServiceConfig::new("127.0.0.1:8080", live.iter().copied(), shadow.iter().copied()),
        )
    }

    fn pct(p: f64) -> TrafficSplit {
        TrafficSplit::to_shadow(TrafficWeight::from_percent(p).unwrap())
    }

    #[test]
    fn renders_weights_and_down() {
        let u = upstream(&["127.0.0.1:9001"], &["127.0.0.1:9002"]).unwrap();
        assert_eq!(u.server_weights(pct(1.0)), (99, 1));
        assert_eq!(u.server_weights(pct(25.0)), (3, 1));
        assert_eq!(u.server_weights(pct(0.5)), (199, 1));
        let all_live = u.render(TrafficSplit::ALL_LIVE, 7);
        assert!(
            all_live.contains("server 127.0.0.1:9001 weight=1 max_fails=0;"),
            "{all_live}"
        );
        assert!(all_live.contains("server 127.0.0.1:9002 down;"), "{all_live}");
        assert!(!all_live.contains("weight=0"));
        let all_shadow = u.render(TrafficSplit::ALL_SHADOW, 8);
        assert!(all_shadow.contains("server 127.0.0.1:9001 down;"));
        assert!(
            all_shadow.contains("return 200 \"service=checkout live_bp=0 shadow_bp=10000 generation=8\\n\";")
        );
        assert!(all_shadow.contains("proxy_pass http://shadow_checkout;"));
    }

    #[test]
    fn several_servers_keep_the_side_ratio() {
        let u = upstream(&["127.0.0.1:9001", "127.0.0.1:9003"], &["127.0.0.1:9002"]).unwrap();
        // Each live server 7500 x 1, each shadow server 2500 x 2: reduced 3 and 2, so the sides hold 6 : 2.
        assert_eq!(u.server_weights(pct(25.0)), (3, 2));
    }

    #[test]
    fn refuses_injection_and_bad_addresses() {
        for bad in [
            "127.0.0.1:9001; include /etc/passwd",
            "evil.example.com:80",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:9001\n}",
        ] {
            let err = upstream(&[bad], &["127.0.0.1:9002"]).unwrap_err().to_string();
            assert!(
                err.starts_with("invalid config at `traffic.services.checkout.live[0]`"),
                "{err}"
            );
        }
        let err = upstream(&["127.0.0.1:9001"], &["127.0.0.1:9001"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears twice"), "{err}");
        let err = upstream(&[], &["127.0.0.1:9001"]).unwrap_err().to_string();
        assert!(err.ends_with("needs at least one backend"), "{err}");
        let cfg = NginxServiceConfig::new("127.0.0.1:8080", ["127.0.0.1:1"], ["127.0.0.1:2"])
            .with_health_path("/h x");
        assert!(Upstream::new("traffic", svc(), &cfg).is_err());
        let slash = ServiceId::new("team/checkout").unwrap();
        let cfg = NginxServiceConfig::new("127.0.0.1:8080", ["127.0.0.1:1"], ["127.0.0.1:2"]);
        assert!(
            Upstream::new("traffic", slash, &cfg)
                .unwrap_err()
                .to_string()
                .contains("'/'")
        );
    }

    #[test]
    fn status_round_trips() {
        let body = status_body(&svc(), pct(5.0), 42);
        assert_eq!(parse_status(&svc(), &body).unwrap(), (pct(5.0), 42));
        let other = ServiceId::new("cart").unwrap();
        assert!(parse_status(&other, &body).is_err());
        assert!(parse_status(&svc(), "service=checkout live_bp=1 shadow_bp=1 generation=1").is_err());
        assert!(parse_status(&svc(), "<html>").is_err());
    }
}
