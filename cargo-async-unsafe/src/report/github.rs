//! The `github` format: GitHub Actions workflow commands, one
//! `::warning file=..,line=..,endLine=..,col=..,endColumn=..,title=..::..`
//! line a finding, which the Actions runner shows as an annotation on the
//! pull request's diff. The message carries the title, the chain and the
//! help line on lines of their own; values are escaped as the runner
//! expects (`%`, CR and LF everywhere; `:` and `,` in properties too).

use super::{Place, Report, STALE_HELP, STALE_TITLE, notes, rule, title};

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(place: &Place, title: &str, message: &str) -> String {
    format!(
        "::warning file={},line={},endLine={},col={},endColumn={},title={}::{}\n",
        escape_property(&place.file),
        place.line,
        place.end_line,
        place.column,
        place.end_column,
        escape_property(title),
        escape_data(message)
    )
}

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    for f in r.findings {
        let message = notes(f)
            .into_iter()
            .map(|(help, note)| format!("\n{}: {note}", if help { "help" } else { "note" }))
            .fold(title(f), |acc, n| acc + &n);
        out.push_str(&command(
            &Place::of(f),
            &format!("async-unsafe ({})", rule(f.reason)),
            &message,
        ));
    }
    for s in r.stale {
        let place = Place::of_stale_marker(s);
        out.push_str(&command(
            &place,
            "async-unsafe (unused-allow)",
            &format!("{STALE_TITLE}\nhelp: {STALE_HELP}"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_the_runner_expects() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\nc:d,e"), "a%25b%0Ac%3Ad%2Ce");
        let place = Place {
            file: "src/a,b.rs".into(),
            line: 3,
            column: 5,
            end_line: 4,
            end_column: 2,
        };
        assert_eq!(
            command(&place, "t: x", "m\nhelp: y"),
            "::warning file=src/a%2Cb.rs,line=3,endLine=4,col=5,endColumn=2,title=t%3A x::m%0Ahelp: y\n"
        );
    }
}
