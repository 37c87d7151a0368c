//! Markdown to HTML that cannot run code: pulldown-cmark renders it with raw HTML turned into
//! text, then ammonia keeps only an allow-list of tags and attributes (no scripts, no event
//! handlers, no `javascript:` links, no `style`). Two layers, so a gap in one is not a hole.

use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, html};

/// HTML that went through `render`: the only kind a template may emit unescaped.
pub struct SanitizedHtml(String);

impl SanitizedHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SanitizedHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags(["input"])
            .add_tag_attributes("input", ["type", "checked", "disabled"])
            .link_rel(Some("noopener noreferrer nofollow"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect());
        builder
    })
}

/// Renders Markdown (tables, strikethrough, task lists) safely.
pub fn render(markdown: &str) -> SanitizedHtml {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is shown as what it is: text.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events);
    SanitizedHtml(cleaner().clean(&unsafe_html).to_string())
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_code_never_runs() {
        let html = render(
            "# Title\n\n- [x] done\n- **bold** and ~~gone~~\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        );
        for part in [
            "<h1>Title</h1>",
            "<strong>bold</strong>",
            "<del>gone</del>",
            "<table>",
            "checked",
        ] {
            assert!(
                html.as_str().contains(part),
                "{part} missing from {}",
                html.as_str()
            );
        }
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<svg onload=alert(1)>",
            "<div hx-get=\"/logout\" hx-trigger=\"load\">x</div>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<p style=\"background:url(x)\">x</p>",
        ] {
            let html = render(payload);
            let lower = html.as_str().to_lowercase();
            for bad in [
                "<script",
                "<img",
                "<svg",
                "<div",
                "javascript:",
                "onerror=\"",
                "hx-get=\"",
                "style=\"",
            ] {
                assert!(
                    !lower.contains(bad),
                    "{payload:?} rendered as {}",
                    html.as_str()
                );
            }
        }
        let link = render("[docs](https://example.com)");
        assert!(
            link.as_str()
                .contains(r#"rel="noopener noreferrer nofollow""#),
            "{}",
            link.as_str()
        );
    }
}
