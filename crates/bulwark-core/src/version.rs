//! Debian-style version comparison (epoch, upstream, revision; `~` sorts before anything),
//! which also orders RPM versions and os-release `VERSION_ID`s sensibly.

use std::cmp::Ordering;

/// Compares two version strings the way dpkg does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

fn split(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().unwrap_or(0), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

fn order(c: Option<char>) -> i32 {
    match c {
        None => 0,
        Some('~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() || !b.is_empty() {
        let a_alpha = a.find(|c: char| c.is_ascii_digit()).unwrap_or(a.len());
        let b_alpha = b.find(|c: char| c.is_ascii_digit()).unwrap_or(b.len());
        let (pa, pb) = (&a[..a_alpha], &b[..b_alpha]);
        let mut ca = pa.chars();
        let mut cb = pb.chars();
        loop {
            let (x, y) = (ca.next(), cb.next());
            if x.is_none() && y.is_none() {
                break;
            }
            let ord = order(x).cmp(&order(y));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a = &a[a_alpha..];
        b = &b[b_alpha..];
        let a_num = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
        let b_num = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
        let na = a[..a_num].trim_start_matches('0');
        let nb = b[..b_num].trim_start_matches('0');
        let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[a_num..];
        b = &b[b_num..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn orders_like_dpkg() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.10", "1.9", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1:0.1", "2.0", Greater),
            ("9.6p1-3", "9.6p1-10", Less),
            ("22.04", "20.04", Greater),
            ("9", "9.0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0-1", "1.0", Greater),
            ("007", "7", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
        }
    }
}
