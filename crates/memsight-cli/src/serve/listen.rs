//! `--listen ADDR:PORT`: the address forms users type, as node_exporter accepts them.

use std::net::{Ipv4Addr, SocketAddr};

/// Parses `IP:PORT` (`127.0.0.1:9477`, `[::1]:9477`), `localhost:PORT` (127.0.0.1) or `:PORT`
/// (every interface, 0.0.0.0). No name other than `localhost` is looked up: the address to
/// bind should not depend on DNS.
pub fn parse_listen(arg: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = arg.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = arg.rsplit_once(':') else {
        return Err(format!("expected ADDR:PORT, got `{arg}`"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("expected a port number after `:`, got `{port}`"))?;
    let ip = match host {
        "" => Ipv4Addr::UNSPECIFIED,
        h if h.eq_ignore_ascii_case("localhost") => Ipv4Addr::LOCALHOST,
        h => {
            return Err(format!(
                "`{h}` is not an IP address (use an address, `localhost`, or `:{port}` for all interfaces)"
            ));
        }
    };
    Ok(SocketAddr::from((ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_users_type() {
        let ok = |s: &str| parse_listen(s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:9477"), "127.0.0.1:9477");
        assert_eq!(ok("[::1]:9477"), "[::1]:9477");
        assert_eq!(ok("localhost:9477"), "127.0.0.1:9477");
        assert_eq!(ok("LocalHost:0"), "127.0.0.1:0");
        assert_eq!(ok(":9477"), "0.0.0.0:9477");
        for bad in [
            "9477",
            "localhost",
            "example.com:80",
            ":",
            ":99999",
            "::1:80x",
            "",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
