//! PDF documents (invoices, statements, signed agreements) written with pdf-writer, using the
//! standard Helvetica fonts every reader has, so nothing is embedded and text stays extractable.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_WIDTH: f32 = 612.0; // US Letter, in points
const PAGE_HEIGHT: f32 = 792.0;
pub const MARGIN: f32 = 54.0;
pub const RIGHT: f32 = PAGE_WIDTH - MARGIN;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Helvetica's advance widths (per 1000 em) for ASCII 32..=126, from its font metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278,
    278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
    667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556,
    556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Text as WinAnsiEncoding bytes: Latin-1 as is, common typographic marks mapped, anything else `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '\u{2014}' => 0x97,
            '\u{2013}' | '\u{2212}' => 0x96,
            '\u{2022}' => 0x95,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2026}' => 0x85,
            _ => b'?',
        })
        .collect()
}

/// The width of `text` at `size` points. Bold letters run a little wider; digits and the marks
/// of amounts are equally wide in both weights, so columns of money align.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let units: f32 = text
        .chars()
        .map(|c| {
            let base = match c as u32 {
                32..=126 => f32::from(HELVETICA[c as usize - 32]),
                _ => 556.0,
            };
            if bold && c.is_alphabetic() {
                base * 1.07
            } else {
                base
            }
        })
        .sum();
    units * size / 1000.0
}

/// A document laid out top to bottom, breaking pages as it fills them.
pub struct Doc {
    title: String,
    pages: Vec<Content>,
    page: Content,
    /// The baseline of the next line, from the bottom of the page.
    y: f32,
    footer: String,
}

impl Doc {
    pub fn new(title: &str, footer: &str) -> Doc {
        Doc { title: title.to_owned(), pages: Vec::new(), page: Content::new(), y: PAGE_HEIGHT - MARGIN, footer: footer.to_owned() }
    }

    /// Starts a new page if fewer than `height` points are left.
    pub fn need(&mut self, height: f32) {
        if self.y - height < MARGIN + 24.0 {
            let full = std::mem::replace(&mut self.page, Content::new());
            self.pages.push(full);
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn show(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        self.page.begin_text();
        self.page.set_font(if bold { BOLD } else { REGULAR }, size);
        self.page.next_line(x, self.y);
        self.page.show(Str(&win_ansi(text)));
        self.page.end_text();
    }

    /// Text starting at `x` on the current line.
    pub fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        self.show(x, size, bold, text);
    }

    /// Text ending at `right` on the current line.
    pub fn text_right(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let x = right - text_width(text, size, bold);
        self.show(x, size, bold, text);
    }

    /// Text wrapped to fit between `x` and `right`, one or more lines.
    pub fn paragraph(&mut self, x: f32, right: f32, size: f32, bold: bool, text: &str) {
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if !line.is_empty() && x + text_width(&candidate, size, bold) > right {
                self.need(size * 1.4);
                self.show(x, size, bold, &line);
                self.down(size * 1.4);
                line = word.to_owned();
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            self.need(size * 1.4);
            self.show(x, size, bold, &line);
            self.down(size * 1.4);
        }
    }

    /// Moves down by `by` points.
    pub fn down(&mut self, by: f32) {
        self.y -= by;
    }

    /// A thin horizontal rule across the page.
    pub fn rule(&mut self) {
        self.page.set_line_width(0.5);
        self.page.set_stroke_gray(0.6);
        self.page.move_to(MARGIN, self.y);
        self.page.line_to(RIGHT, self.y);
        self.page.stroke();
    }

    /// The finished PDF.
    pub fn finish(mut self) -> Vec<u8> {
        let last = std::mem::replace(&mut self.page, Content::new());
        self.pages.push(last);
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_page = 10;
        let count = self.pages.len() as i32;
        let page_ids: Vec<Ref> = (0..count).map(|i| Ref::new(first_page + 2 * i)).collect();

        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().copied()).count(count);
        pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info).title(TextStr(&self.title)).creator(TextStr("Patient portal"));
        for (i, mut content) in self.pages.into_iter().enumerate() {
            let page_id = page_ids[i];
            let content_id = Ref::new(page_id.get() + 1);
            let footer = format!("{} · Page {} of {}", self.footer, i + 1, count);
            content.begin_text();
            content.set_font(REGULAR, 8.0);
            content.next_line(MARGIN, MARGIN - 18.0);
            content.show(Str(&win_ansi(&footer)));
            content.end_text();
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).parent(tree).contents(content_id);
            page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pdf_with_text_and_page_breaks() {
        let mut doc = Doc::new("Test", "Footer");
        for i in 0..80 {
            doc.need(14.0);
            doc.text(MARGIN, 10.0, i % 2 == 0, &format!("Line {i} — café"));
            doc.text_right(RIGHT, 10.0, false, "$1,234.50");
            doc.down(14.0);
        }
        let bytes = doc.finish();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/Count 2"), "80 lines need two pages");
        assert!(text.contains("Helvetica-Bold"));
    }

    #[test]
    fn digits_align_in_both_weights() {
        assert_eq!(text_width("$1,234.50", 10.0, true), text_width("$1,234.50", 10.0, false));
        assert_eq!(text_width("$1,234.50", 10.0, false), 10.0 * (556.0 * 7.0 + 278.0 * 2.0) / 1000.0);
        assert!(text_width("Total", 10.0, true) > text_width("Total", 10.0, false));
        assert_eq!(win_ansi("a—b•é✓"), vec![b'a', 0x97, b'b', 0x95, 0xe9, b'?']);
    }
}
