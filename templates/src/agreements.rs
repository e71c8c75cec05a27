//! Agreements: the list, one agreement with its signing form or signature, and the signed PDF.

use chrono::NaiveDate;
use maud::{html, Markup, PreEscaped};
use portal_domain::{Agreement, Member};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::date;
use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::pdf::{Doc, MARGIN, RIGHT};
use crate::routes::Route;

/// Markdown without any raw HTML: embedded HTML is shown as text, links and images become their
/// text, so nothing in a document can add markup, scripts or requests to the page.
fn safe_events(markdown: &str) -> impl Iterator<Item = Event<'_>> {
    Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).filter_map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        Event::Start(Tag::Link { .. } | Tag::Image { .. }) | Event::End(TagEnd::Link | TagEnd::Image) => None,
        Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => None,
        other => Some(other),
    })
}

/// A document's body as HTML. pulldown-cmark escapes every text it writes, and the events it is
/// given carry no raw HTML, so its output is safe to embed as is.
pub fn markdown(body: &str) -> Markup {
    let mut out = String::with_capacity(body.len() * 2);
    pulldown_cmark::html::push_html(&mut out, safe_events(body));
    PreEscaped(out)
}

/// A document's body as lines of plain text, for the PDF: (text, is a heading).
pub fn plain_lines(body: &str) -> Vec<(String, bool)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut heading = false;
    let mut list_depth = 0usize;
    for event in safe_events(body) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = true,
            Event::Start(Tag::List(_)) => list_depth += 1,
            Event::End(TagEnd::List(_)) => list_depth = list_depth.saturating_sub(1),
            Event::Start(Tag::Item) => current.push_str(&format!("{}• ", "  ".repeat(list_depth.saturating_sub(1)))),
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::End(TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::Item) => {
                if !current.trim().is_empty() {
                    lines.push((std::mem::take(&mut current).trim().to_owned(), heading));
                }
                current.clear();
                heading = false;
            }
            _ => {}
        }
    }
    if !current.trim().is_empty() {
        lines.push((current.trim().to_owned(), heading));
    }
    lines
}

/// One row of the list: the agreement and the member it is for.
pub struct Listed<'a> {
    pub agreement: &'a Agreement,
    pub member: Option<&'a Member>,
}

/// `/agreements`: pending first, then signed.
pub fn list_page(chrome: &Chrome<'_>, items: &[Listed<'_>], at: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate) -> Markup {
    let pending: Vec<&Listed> = items.iter().filter(|l| !l.agreement.is_signed()).collect();
    let signed: Vec<&Listed> = items.iter().filter(|l| l.agreement.is_signed()).collect();
    let name = |l: &Listed| l.member.map(Member::full_name).unwrap_or_default();
    let body = html! {
        h1 { "Agreements" }
        h2 #pending { "Waiting for a signature" }
        @if pending.is_empty() { p { "Nothing to sign." } }
        ul.agreements aria-labelledby="pending" {
            @for l in &pending {
                li {
                    a href=(Route::Agreement(l.agreement.id.clone()).path()) { (l.agreement.title) }
                    span.muted { " · for " (name(l)) }
                    @if l.agreement.required { " " span.badge.past-due { "Required" } }
                }
            }
        }
        h2 #signed { "Signed" }
        @if signed.is_empty() { p { "Nothing signed yet." } }
        ul.agreements aria-labelledby="signed" {
            @for l in &signed {
                @if let Some(sig) = &l.agreement.signature {
                    li {
                        a href=(Route::Agreement(l.agreement.id.clone()).path()) { (l.agreement.title) }
                        span.muted { " · for " (name(l)) " · signed by " (sig.signer_name) " on " (date(at(sig.at))) }
                    }
                }
            }
        }
    };
    page(chrome, "Agreements", body)
}

/// When a signature was made, as the page and the PDF both say it: the practice's local time to
/// the second, with its zone ("Nov 29, 2026, 8:21:51 PM CST").
pub fn signed_at(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%b %-d, %Y, %-I:%M:%S %p %Z").to_string()
}

/// The state of the signing form.
pub struct SignForm<'a> {
    pub csrf_token: &'a str,
    /// Who signs (the signed-in member's full name) and, for a minor's agreement, for whom.
    pub signer: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub signer_name: &'a str,
    pub name_error: Option<&'a str>,
    pub consent_error: Option<&'a str>,
}

/// `/agreements/{id}`: the document, then the signature block or the signing form.
pub fn agreement_page(
    chrome: &Chrome<'_>,
    agreement: &Agreement,
    member: Option<&Member>,
    sign: Option<&SignForm<'_>>,
    cannot_sign: Option<&str>,
    zone: chrono_tz::Tz,
) -> Markup {
    let body = html! {
        p.back { a href=(Route::Agreements.path()) { "← Agreements" } }
        h1 { (agreement.title) }
        p.lede { "Version " (agreement.version) @if let Some(m) = member { " · for " (m.full_name()) } }
        @if agreement.is_signed() {
            div.actions { a.button.secondary href=(Route::AgreementPdf(agreement.id.clone()).path()) download { "Download signed copy (PDF)" } }
        }
        article.document.agreement-body { (markdown(&agreement.body)) }
        @if let Some(sig) = &agreement.signature {
            section.signature aria-labelledby="signature-heading" {
                h2 #signature-heading { "Signature" }
                dl.summary-list {
                    dt { "Signed by" } dd #signed-by { (sig.signer_name) }
                    dt { "Signed on" } dd #signed-at { (signed_at(sig.at, zone)) }
                    dt { "Using" } dd { (portal_domain::audit::device_of(&sig.user_agent)) }
                }
                details.audit {
                    summary { "Audit record" }
                    p.small.muted { "What was recorded when it was signed, so the signature can be verified later." }
                    dl.summary-list {
                        dt { "IP address" } dd { (sig.ip) }
                        dt { "Browser (as it identified itself)" } dd { code.hash { (sig.user_agent) } }
                        dt { "Fingerprint of the text signed (SHA-256)" } dd { code.hash { (sig.body_sha256) } }
                    }
                }
            }
        } @else if let Some(form) = sign {
            section.signature aria-labelledby="sign-heading" {
                h2 #sign-heading { "Sign" }
                @if form.name_error.is_some() || form.consent_error.is_some() { (alert("error", "Please correct the highlighted fields. Nothing was signed.")) }
                form method="post" action=(Route::SignAgreement(agreement.id.clone()).path()) novalidate {
                    (csrf(form.csrf_token))
                    p #signing-as {
                        "You sign as " strong { (form.signer) }
                        @if let Some(minor) = form.on_behalf_of { ", parent or guardian of " strong { (minor) } }
                        "."
                    }
                    (field(&Field { value: form.signer_name, error: form.name_error, autocomplete: Some("name"), hint: Some("Type your full name, as shown above, as your electronic signature."), ..Field::new("signer_name", "Full name") }))
                    div.field.invalid[form.consent_error.is_some()] {
                        @if let Some(e) = form.consent_error { p.error #consent-error { (e) } }
                        label.choice {
                            input type="checkbox" name="consent" value="yes" aria-describedby=[form.consent_error.map(|_| "consent-error")];
                            " I have read this agreement and agree to sign it electronically."
                        }
                    }
                    button.primary type="submit" { "Sign agreement" }
                }
            }
        } @else if let Some(reason) = cannot_sign {
            (notice(reason))
        }
    };
    page(chrome, &agreement.title, body)
}

/// The signed agreement as a PDF: the body, the signature block and the document hash.
pub fn pdf(practice: &str, agreement: &Agreement, member: Option<&Member>, zone: chrono_tz::Tz) -> Vec<u8> {
    let mut doc = Doc::new(&agreement.title, &format!("{practice} · {} · version {}", agreement.title, agreement.version));
    doc.text(MARGIN, 9.0, false, practice);
    doc.down(20.0);
    doc.paragraph(MARGIN, RIGHT, 16.0, true, &agreement.title);
    let subject = member.map(|m| format!(" · for {}", m.full_name())).unwrap_or_default();
    doc.text(MARGIN, 9.0, false, &format!("Version {}{subject}", agreement.version));
    doc.down(20.0);
    for (line, heading) in plain_lines(&agreement.body) {
        if heading && line == agreement.title {
            continue;
        }
        doc.paragraph(MARGIN, RIGHT, if heading { 12.0 } else { 10.0 }, heading, &line);
        doc.down(4.0);
    }
    doc.down(12.0);
    doc.need(90.0);
    doc.rule();
    doc.down(18.0);
    match &agreement.signature {
        Some(sig) => {
            doc.text(MARGIN, 11.0, true, "Electronic signature");
            doc.down(16.0);
            for line in [
                format!("Signed by: {}", sig.signer_name),
                format!("Signed on: {}", signed_at(sig.at, zone)),
                format!("Using: {}", portal_domain::audit::device_of(&sig.user_agent)),
            ] {
                doc.paragraph(MARGIN, RIGHT, 10.0, false, &line);
            }
            doc.down(8.0);
            doc.text(MARGIN, 9.0, true, "Audit record");
            doc.down(12.0);
            for line in [
                format!("IP address: {}", sig.ip),
                format!("Browser (as it identified itself): {}", sig.user_agent),
                format!("Fingerprint of the text signed (SHA-256): {}", sig.body_sha256),
            ] {
                doc.paragraph(MARGIN, RIGHT, 8.0, false, &line);
            }
            doc.down(13.0);
        }
        None => {
            doc.text(MARGIN, 11.0, true, "Not signed");
            doc.down(14.0);
        }
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_structure_but_never_raw_html() {
        let body = "# Title\n\nSome **bold** text.\n\n<script>alert(1)</script>\n\n- one\n- two <b>x</b>\n\n[click](javascript:alert(1)) ![img](http://tracker.example/x.png)\n";
        let html = markdown(body).into_string();
        assert!(html.contains("<h1>Title</h1>") && html.contains("<strong>bold</strong>") && html.contains("<li>one</li>"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(!html.contains("<b>") && !html.contains("javascript:") && !html.contains("<img") && !html.contains("tracker.example"));
        assert!(html.contains("click"));
    }

    #[test]
    fn plain_lines_keep_headings_and_items() {
        let lines = plain_lines("# Policy\n\nFees are due.\n\n- Pay on time\n- Ask questions\n");
        assert_eq!(
            lines,
            vec![
                ("Policy".into(), true),
                ("Fees are due.".into(), false),
                ("• Pay on time".into(), false),
                ("• Ask questions".into(), false)
            ]
        );
    }
}
