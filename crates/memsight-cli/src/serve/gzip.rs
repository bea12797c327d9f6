//! gzip for `/metrics` when the scraper accepts it (Prometheus sends `Accept-Encoding: gzip` on
//! every scrape unless its `enable_compression` is off): the exposition is repetitive text that
//! shrinks about tenfold.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Whether an `Accept-Encoding` value allows gzip (RFC 9110 12.5.3): `gzip` or `x-gzip`, or `*`
/// when gzip is not listed, with a non-zero `q`.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in accept_encoding.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f64>().unwrap_or(0.0));
        let allowed = q.is_finite() && q > 0.0;
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(gzip.unwrap_or(false) || allowed),
            "*" => any = Some(allowed),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// `body` gzip-compressed at level 1: for this text nearly the ratio of the default level at a
/// fraction of its CPU.
pub fn compress(body: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn prometheus_and_browsers_get_gzip() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("deflate, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(accepts_gzip("x-gzip"));
    }

    #[test]
    fn refused_or_absent_gzip_gets_identity() {
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip;q=0.0, deflate"));
        assert!(!accepts_gzip("br, *;q=0"));
        // gzip named with q=0 wins over a wildcard.
        assert!(!accepts_gzip("gzip;q=0, *"));
        assert!(!accepts_gzip("gzip;q=abc"));
    }

    #[test]
    fn compressed_body_decodes_to_the_original() {
        let body = "memsight_process_memory_bytes{pid=\"1\",memtype=\"uss\"} 4096\n".repeat(500);
        let gz = compress(body.as_bytes());
        assert!(gz.len() < body.len() / 10, "{} of {}", gz.len(), body.len());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
