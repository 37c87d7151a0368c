//! Markdown to HTML that cannot run code: pulldown-cmark renders it with raw HTML turned into
//! text, then ammonia keeps only an allow-list of tags and attributes (no scripts, no event
//! handlers, no `javascript:` links, no `style`). Two layers, so a gap in one is not a hole.
//!
//! Rendering is bounded three ways, so no text can hold the server: containers nested deeper
//! than [`MAX_DEPTH`] are flattened before any HTML exists (their text is kept, their nesting
//! is not); [`Renderer`] runs the work on the blocking pool, a few at a time, and a render
//! that takes longer than its budget is shown as plain text meanwhile; and what was rendered
//! is kept by content, so viewing a page again renders nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// How deeply elements may nest (block quotes, lists and their items, emphasis, links…):
/// deeper ones are rendered as their text, each on a line of its own. Seven levels of nested
/// list take 14; no hand-written text comes near this.
pub const MAX_DEPTH: usize = 32;

/// HTML that went through `render`: the only kind a template may emit unescaped.
#[derive(Clone)]
pub struct SanitizedHtml(Arc<str>);

impl SanitizedHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text shown as it was written, escaped, its lines kept.
    fn plain(text: &str) -> Self {
        let escaped = ammonia::clean_text(text).replace("&#10;", "<br>");
        Self(format!("<p class=\"plain\">{escaped}</p>").into())
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
            .add_tag_attributes(
                "input",
                ["type", "checked", "disabled", "aria-label", "data-check"],
            )
            // A table column's alignment, and a code block's language: classes the renderer
            // wrote, and only those (`aligned` below; a fence's first word).
            .add_tag_attributes("th", ["class"])
            .add_tag_attributes("td", ["class"])
            .add_tag_attributes("code", ["class"])
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("th" | "td", "class") => ALIGNMENTS
                    .iter()
                    .any(|(_, class)| value == *class)
                    .then_some(value.into()),
                ("code", "class") => value
                    .strip_prefix("language-")
                    .filter(|lang| {
                        (1..=40).contains(&lang.len())
                            && lang
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"+-_.#".contains(&b))
                    })
                    .map(|_| value.into()),
                _ => Some(value.into()),
            })
            .link_rel(Some("noopener noreferrer nofollow"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect());
        builder
    })
}

/// Renders Markdown (tables, strikethrough, task lists) safely, on the calling thread: the
/// server calls it through [`Renderer`]. The time it takes grows with the text's length, not
/// faster: nesting is bounded by [`MAX_DEPTH`].
pub fn render(markdown: &str) -> SanitizedHtml {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is shown as what it is: text.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut unsafe_html, Checklists::new(Flatten::new(events)));
    SanitizedHtml(cleaner().clean(&aligned(unsafe_html)).to_string().into())
}

/// The renderer's alignment of a table column (`|---:|`) and the class that draws it: pages
/// allow no `style` attribute.
const ALIGNMENTS: [(&str, &str); 3] = [
    (" style=\"text-align: left\">", "align-left"),
    (" style=\"text-align: center\">", "align-center"),
    (" style=\"text-align: right\">", "align-right"),
];

/// The renderer's HTML with its table alignments as classes. Only the renderer writes a
/// quoted attribute: everything written in the text reaches this point escaped.
fn aligned(html: String) -> String {
    if !html.contains(" style=\"text-align: ") {
        return html;
    }
    ALIGNMENTS.iter().fold(html, |html, (style, class)| {
        html.replace(style, &format!(" class=\"{class}\">"))
    })
}

/// Drops the tags of elements nested deeper than [`MAX_DEPTH`], keeping what is inside them;
/// a deep block that ends ends a line. The parser's events nest properly, so dropping the
/// start and end of every element past the limit leaves them nesting properly.
struct Flatten<'a, I> {
    events: I,
    depth: usize,
    _text: std::marker::PhantomData<Event<'a>>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Flatten<'a, I> {
    fn new(events: I) -> Self {
        Self {
            events,
            depth: 0,
            _text: std::marker::PhantomData,
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Flatten<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            match self.events.next()? {
                Event::Start(tag) => {
                    self.depth += 1;
                    if self.depth <= MAX_DEPTH {
                        return Some(Event::Start(tag));
                    }
                    if let Tag::Item = tag {
                        // A flattened list item still reads as one.
                        return Some(Event::Text("- ".into()));
                    }
                }
                Event::End(end) => {
                    self.depth -= 1;
                    if self.depth < MAX_DEPTH {
                        return Some(Event::End(end));
                    }
                    if ends_a_line(end) {
                        return Some(Event::HardBreak);
                    }
                }
                // Task-list checkboxes and footnote marks outside their elements mean nothing.
                Event::TaskListMarker(_) if self.depth > MAX_DEPTH => {}
                other => return Some(other),
            }
        }
    }
}

/// The most characters of an item's text its checkbox is named by.
const CHECK_LABEL_CHARS: usize = 200;

/// Task-list checkboxes named by their item's text (`aria-label`: a checkbox with no name is
/// one a screen reader cannot say) and numbered in the text's order (`data-check`, what
/// [`toggle_check`] takes). The item's first line is read ahead to name it.
struct Checklists<'a, I> {
    events: I,
    ahead: VecDeque<Event<'a>>,
    count: usize,
}

impl<'a, I: Iterator<Item = Event<'a>>> Checklists<'a, I> {
    fn new(events: I) -> Self {
        Self {
            events,
            ahead: VecDeque::new(),
            count: 0,
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Checklists<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(event) = self.ahead.pop_front() {
            return Some(event);
        }
        let checked = match self.events.next()? {
            Event::TaskListMarker(checked) => checked,
            other => return Some(other),
        };
        // The item's first line, read ahead (and given back after the box) to name it.
        let mut label = String::new();
        for event in self.events.by_ref() {
            let stop = matches!(
                event,
                Event::End(TagEnd::Item | TagEnd::Paragraph)
                    | Event::Start(Tag::List(_))
                    | Event::SoftBreak
                    | Event::HardBreak
            );
            if let Event::Text(text) | Event::Code(text) = &event
                && label.len() < CHECK_LABEL_CHARS * 4
            {
                label.push_str(text);
            }
            self.ahead.push_back(event);
            if stop {
                break;
            }
        }
        let label: String = label.trim().chars().take(CHECK_LABEL_CHARS).collect();
        let label = if label.is_empty() {
            "a checklist item".to_owned()
        } else {
            label
        };
        let n = self.count;
        self.count += 1;
        Some(Event::Html(
            format!(
                "<input type=\"checkbox\" disabled{} data-check=\"{n}\" aria-label=\"{}\">",
                if checked { " checked" } else { "" },
                attribute(&label)
            )
            .into(),
        ))
    }
}

/// Text as an attribute's value, escaped.
fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown with its checklist item `index` (as `data-check` numbers them) ticked or not;
/// `None` when it has no such item. Only the item's `[ ]` or `[x]` changes.
pub fn toggle_check(markdown: &str, index: usize, checked: bool) -> Option<String> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut depth = 0usize;
    let mut seen = 0usize;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            // Numbered as `render` shows them: not past the depth it flattens.
            Event::TaskListMarker(_) if depth <= MAX_DEPTH => {
                if seen == index {
                    let marker = markdown.get(range.clone())?;
                    let open = marker.find('[')?;
                    let close = marker.rfind(']')?;
                    let mut out = String::with_capacity(markdown.len());
                    out.push_str(&markdown[..range.start + open]);
                    out.push_str(if checked { "[x]" } else { "[ ]" });
                    out.push_str(&markdown[range.start + close + 1..]);
                    return Some(out);
                }
                seen += 1;
            }
            _ => {}
        }
    }
    None
}

fn ends_a_line(end: TagEnd) -> bool {
    matches!(
        end,
        TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::Item
            | TagEnd::TableRow
            | TagEnd::TableHead
    )
}

/// Renders user-written Markdown off the async workers: on the blocking pool, at most a few at
/// once, each within a time budget, and remembered by content so a page seen again costs a
/// lookup. Cloned into every request; the clones share the pool's permits and the cache.
#[derive(Clone)]
pub struct Renderer {
    permits: Arc<Semaphore>,
    budget: Duration,
    cache: Arc<Mutex<Cache>>,
}

impl Default for Renderer {
    /// As many renders at once as there are cores but one (one at least, four at most), so a
    /// core is always left for answering requests; a budget of 2 seconds; 32 MiB of rendered
    /// HTML kept.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(
            cores.saturating_sub(1).clamp(1, 4),
            Duration::from_secs(2),
            32 << 20,
        )
    }
}

impl Renderer {
    pub fn new(at_once: usize, budget: Duration, cache_bytes: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            budget,
            cache: Arc::new(Mutex::new(Cache::new(cache_bytes))),
        }
    }

    /// One text as HTML.
    pub async fn one(&self, markdown: &str) -> SanitizedHtml {
        let mut html = self.many(vec![markdown.to_owned()]).await;
        html.pop().unwrap_or_else(|| SanitizedHtml::plain(markdown))
    }

    /// Several texts as HTML, in their order, rendered together in one job. A text that is
    /// not ready within the budget (the pool busy, or the text slow) is shown as plain text
    /// this time; its render goes on and is kept for the next view.
    pub async fn many(&self, texts: Vec<String>) -> Vec<SanitizedHtml> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| Sha256::digest(t).into()).collect();
        let mut found: Vec<Option<SanitizedHtml>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|key| cache.get(key)).collect()
        };
        let missing: Vec<(usize, [u8; 32], String)> = texts
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(i, _)| found[*i].is_none())
            .map(|(i, (text, key))| (i, *key, text.clone()))
            .collect();
        if !missing.is_empty() {
            let rendered = self.render_missing(missing).await;
            for (i, html) in rendered {
                found[i] = Some(html);
            }
        }
        found
            .into_iter()
            .zip(&texts)
            .map(|(html, text)| html.unwrap_or_else(|| SanitizedHtml::plain(text)))
            .collect()
    }

    async fn render_missing(
        &self,
        missing: Vec<(usize, [u8; 32], String)>,
    ) -> Vec<(usize, SanitizedHtml)> {
        let permits = self.permits.clone();
        let cache = self.cache.clone();
        let job = async move {
            let Ok(permit) = permits.acquire_owned().await else {
                return Vec::new();
            };
            // The permit and the cache go with the work: a render past its budget still
            // counts against the pool until it ends, and its result is kept for next time.
            let work = tokio::task::spawn_blocking(move || {
                let rendered: Vec<(usize, SanitizedHtml)> = missing
                    .into_iter()
                    .map(|(i, key, text)| {
                        let html = render(&text);
                        cache
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .put(key, html.clone());
                        (i, html)
                    })
                    .collect();
                drop(permit);
                rendered
            });
            work.await.unwrap_or_default()
        };
        match tokio::time::timeout(self.budget, job).await {
            Ok(rendered) => rendered,
            Err(_) => {
                tracing::warn!(
                    budget = ?self.budget,
                    "Markdown took longer than its budget to render; shown as plain text this time"
                );
                Vec::new()
            }
        }
    }
}

/// Rendered HTML by the SHA-256 of its Markdown, the oldest dropped first past a size.
struct Cache {
    entries: HashMap<[u8; 32], SanitizedHtml>,
    order: VecDeque<[u8; 32]>,
    bytes: usize,
    limit: usize,
}

impl Cache {
    fn new(limit: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<SanitizedHtml> {
        self.entries.get(key).cloned()
    }

    fn put(&mut self, key: [u8; 32], html: SanitizedHtml) {
        let size = html.as_str().len();
        if size > self.limit || self.entries.contains_key(&key) {
            return;
        }
        while self.bytes + size > self.limit {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.entries.remove(&oldest) {
                self.bytes -= gone.as_str().len();
            }
        }
        self.bytes += size;
        self.order.push_back(key);
        self.entries.insert(key, html);
    }
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
            // Whatever the payload, what comes out is text and harmless tags: every tag is
            // one of the allowed few, with no handler, style, htmx or script link in it.
            for tag in html.as_str().split('<').skip(1) {
                let tag = tag.split('>').next().unwrap().to_lowercase();
                let name = tag.trim_start_matches('/').split(' ').next().unwrap();
                assert!(
                    ["p", "a", "strong", "em", "code", "br"].contains(&name),
                    "{payload:?} rendered the tag <{tag}>: {}",
                    html.as_str()
                );
                for bad in [" on", "style=", "hx-", "javascript:", "src="] {
                    assert!(
                        !tag.contains(bad),
                        "{payload:?} rendered <{tag}>: {}",
                        html.as_str()
                    );
                }
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

    #[test]
    fn checklist_boxes_are_named_by_their_item_and_numbered() {
        let md = "- [ ] Buy **milk** & eggs\n- [x] Call \"Bob\"\n\n```\n- [ ] not a box\n```\n\n1. [ ] third\n";
        let html = render(md);
        let html = html.as_str();
        for part in [
            r#"<input type="checkbox" disabled="" data-check="0" aria-label="Buy milk &amp; eggs">"#,
            r#"<input type="checkbox" disabled="" checked="" data-check="1" aria-label="Call &quot;Bob&quot;">"#,
            r#"data-check="2" aria-label="third""#,
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
        assert_eq!(html.matches("<input").count(), 3, "{html}");
        let ticked = super::toggle_check(md, 0, true).unwrap();
        assert!(ticked.starts_with("- [x] Buy **milk**"), "{ticked}");
        let unticked = super::toggle_check(md, 1, false).unwrap();
        assert!(unticked.contains("- [ ] Call"), "{unticked}");
        let third = super::toggle_check(md, 2, true).unwrap();
        assert!(
            third.contains("1. [x] third") && third.contains("- [ ] not a box"),
            "{third}"
        );
        assert_eq!(super::toggle_check(md, 3, true), None);
        assert_eq!(
            super::toggle_check(md, 0, false).as_deref(),
            Some(md),
            "unticking what is not ticked changes nothing"
        );
    }

    #[test]
    fn table_alignment_and_code_languages_are_kept_as_classes_only_the_renderer_writes() {
        let html = render(
            "| left | middle | right |\n|:---|:---:|---:|\n| a | b | 1 |\n\n```rust\nfn main() {}\n```",
        );
        let html = html.as_str();
        for part in [
            r#"<th class="align-left">left</th>"#,
            r#"<th class="align-center">middle</th>"#,
            r#"<td class="align-right">1</td>"#,
            r#"<code class="language-rust">"#,
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
        assert!(!html.contains("style="), "{html}");
        // Written by hand, the same attributes are text; a strange fence loses its class.
        for payload in [
            "<td class=\"align-left\">x</td>",
            "<code class=\"language-x card\">y</code>",
            "| a |\n|---|\n| <span class=\"align-left\">x</span> |",
        ] {
            let html = render(payload);
            for element in ["<td class", "<code class", "<span"] {
                assert!(
                    !html.as_str().contains(element),
                    "{payload}: {}",
                    html.as_str()
                );
            }
        }
        let odd = render("```x\"onclick=alert(1)\nbody\n```");
        assert!(!odd.as_str().contains("class="), "{}", odd.as_str());
        assert!(!odd.as_str().contains("onclick="), "{}", odd.as_str());
    }

    #[test]
    fn deep_nesting_is_flattened_and_renders_in_linear_time() {
        for unit in [">", "1. ", "- ", "* ", "> 1. "] {
            let small = unit.repeat(5_000);
            let large = unit.repeat(50_000 / unit.len());
            let started = std::time::Instant::now();
            let html = render(&small);
            let small_took = started.elapsed();
            let started = std::time::Instant::now();
            let big = render(&large);
            let large_took = started.elapsed();
            assert!(
                big.as_str().matches("<blockquote>").count() <= super::MAX_DEPTH
                    && big.as_str().matches("<li>").count() <= super::MAX_DEPTH,
                "{unit:?} nested past the limit"
            );
            assert!(!html.as_str().is_empty());
            // Ten times the text may take ten times as long, with room for noise; quadratic
            // work would take a hundred times.
            assert!(
                large_took < small_took * 40 + std::time::Duration::from_millis(50),
                "{unit:?}: 5 000 took {small_took:?}, 50 000 took {large_took:?}"
            );
        }
    }

    #[test]
    fn text_past_the_depth_limit_is_kept() {
        let nested = format!("{}deep words", "> ".repeat(super::MAX_DEPTH + 10));
        let html = render(&nested);
        assert!(html.as_str().contains("deep words"), "{}", html.as_str());
        assert_eq!(
            html.as_str().matches("<blockquote>").count(),
            super::MAX_DEPTH
        );
        // Shallow text is untouched.
        let list = render("- a\n  - b\n    - c");
        assert_eq!(
            list.as_str().matches("<ul>").count(),
            3,
            "{}",
            list.as_str()
        );
    }

    #[test]
    fn plain_text_fallback_is_escaped() {
        let plain = super::SanitizedHtml::plain("<script>x</script>\nline");
        assert!(!plain.as_str().contains("<script"), "{}", plain.as_str());
        assert!(plain.as_str().contains("<br>"), "{}", plain.as_str());
    }

    #[tokio::test]
    async fn the_renderer_keeps_what_it_rendered_and_answers_in_order() {
        let renderer = super::Renderer::new(2, std::time::Duration::from_secs(5), 1 << 20);
        let html = renderer
            .many(vec!["**a**".into(), "_b_".into(), "**a**".into()])
            .await;
        assert_eq!(html[0].as_str(), "<p><strong>a</strong></p>\n");
        assert_eq!(html[1].as_str(), "<p><em>b</em></p>\n");
        assert_eq!(html[2].as_str(), html[0].as_str());
        let cached = renderer.cache.lock().unwrap().entries.len();
        assert_eq!(cached, 2);
        let again = renderer.one("_b_").await;
        assert_eq!(again.as_str(), html[1].as_str());
    }

    #[tokio::test]
    async fn a_render_past_its_budget_is_shown_as_text() {
        let renderer = super::Renderer::new(1, std::time::Duration::from_millis(50), 1 << 20);
        // The pool is busy: the one render at a time is taken.
        let busy = renderer.permits.clone().acquire_owned().await.unwrap();
        let html = renderer.one("**bold** <b>").await;
        assert!(
            html.as_str().starts_with("<p class=\"plain\">"),
            "{}",
            html.as_str()
        );
        assert!(!html.as_str().contains("<b>"), "{}", html.as_str());
        drop(busy);
        let html = renderer.one("**bold** <b>").await;
        assert!(
            html.as_str().contains("<strong>bold</strong>"),
            "{}",
            html.as_str()
        );
    }

    #[test]
    fn the_cache_stays_within_its_size() {
        let mut cache = super::Cache::new(100);
        for i in 0u8..10 {
            cache.put(
                [i; 32],
                super::SanitizedHtml(std::sync::Arc::from("x".repeat(30))),
            );
        }
        assert!(cache.bytes <= 100);
        assert_eq!(cache.entries.len(), 3);
        assert!(cache.get(&[9; 32]).is_some() && cache.get(&[0; 32]).is_none());
    }
}
