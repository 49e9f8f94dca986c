//! The human format: rustc's diagnostics, rendered by `annotate-snippets`
//! (the renderer rustc uses), with the call's source lines underlined and
//! `= note:` / `= help:` lines under them; coloured when asked. Findings
//! that are only `possible` are counted, not shown, unless `--possible`. A
//! summary line ends the report unless `-q`.

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::{Place, Report, STALE_HELP, STALE_TITLE, Sources, notes, summary, title};
use crate::graph::Finding;

/// The count of one hidden possible finding.
const POSSIBLE_ONE: &str = "note: 1 more call may block: a method or closure on the way could \
                            mean something else (`--possible` shows it)\n";

/// One diagnostic, as rustc shows it; no newline at the end.
pub(super) fn diagnostic(
    renderer: &Renderer,
    sources: &Sources,
    title: &str,
    place: &Place,
    notes: &[(bool, String)],
) -> String {
    let text = sources.text(&place.file);
    let head = Level::WARNING.primary_title(title);
    let group: Group = match (&text, sources.bytes(place)) {
        (Some(text), Some(span)) => head.element(
            Snippet::source(&**text)
                .path(&*place.file)
                .fold(true)
                .annotation(AnnotationKind::Primary.span(span)),
        ),
        _ => head.element(
            Origin::path(&*place.file)
                .line(place.line)
                .char_column(place.column),
        ),
    };
    let group = group.elements(notes.iter().map(|(help, note)| {
        if *help {
            Level::HELP.message(&**note)
        } else {
            Level::NOTE.message(&**note)
        }
    }));
    renderer.render(&[group])
}

/// The renderer: plain or coloured.
pub(super) fn renderer(color: bool) -> Renderer {
    if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

pub(super) fn render(r: &Report, sources: &Sources) -> String {
    let renderer = renderer(r.color);
    let mut out = String::new();
    let (shown, hidden): (Vec<&Finding>, Vec<&Finding>) =
        r.findings.iter().partition(|f| f.certain || r.possible);
    for f in shown.iter().copied() {
        out.push_str(&diagnostic(
            &renderer,
            sources,
            &title(f),
            &Place::of(f),
            &notes(f),
        ));
        out.push_str("\n\n");
    }
    for s in r.stale {
        out.push_str(&diagnostic(
            &renderer,
            sources,
            STALE_TITLE,
            &Place::of_stale(s, sources),
            &[(true, STALE_HELP.to_owned())],
        ));
        out.push_str("\n\n");
    }
    if !r.quiet {
        out.push_str(&summary(shown.len(), r.stale.len()));
        match hidden.len() {
            0 => {}
            1 => out.push_str(POSSIBLE_ONE),
            n => out.push_str(&format!(
                "note: {n} more calls may block: a method or closure on the way could \
                 mean something else (`--possible` shows them)\n"
            )),
        }
    }
    out
}
