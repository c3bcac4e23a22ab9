//! Fonts and text sizes: egui's own fonts have no Chinese glyphs, so a system CJK font
//! is added as a fallback when one is installed.

use std::path::{Path, PathBuf};

use egui::{FontData, FontFamily, FontId, FontInsert, FontPriority, InsertFontFamily, TextStyle};

use crate::ui::text::Lang;

/// Name of the added font in egui's font definitions.
const CJK_FONT_NAME: &str = "lifeline-cjk";

/// Where common systems keep a font with Simplified Chinese glyphs, with the face to use
/// in collections. First found wins.
pub const CJK_FONT_CANDIDATES: &[(&str, u32)] = &[
    // Debian/Ubuntu: fonts-wqy-microhei, fonts-noto-cjk, fonts-wqy-zenhei.
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    // Fedora, Arch.
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        0,
    ),
    // macOS, Windows.
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
];

/// The Debian package that provides the first candidate.
pub const CJK_FONT_PACKAGE: &str = "fonts-wqy-microhei";

/// The first CJK font of `candidates` that exists, with its face index.
pub fn find_cjk_font(candidates: &[(&str, u32)]) -> Option<(PathBuf, u32)> {
    candidates
        .iter()
        .map(|(path, index)| (Path::new(path), *index))
        .find(|(path, _)| path.is_file())
        .map(|(path, index)| (path.to_path_buf(), index))
}

/// Adds the first CJK font found among `candidates` as the last fallback of both font
/// families. Returns whether one was added; when none is and `lang` is Chinese, logs a
/// warning (the texts would show as boxes) and carries on.
///
/// Reads the font file (a few MB): call it at start-up, not from a frame.
pub fn install_cjk_font(ctx: &egui::Context, lang: Lang, candidates: &[(&str, u32)]) -> bool {
    let Some((path, index)) = find_cjk_font(candidates) else {
        if lang == Lang::ZhCn {
            tracing::warn!(
                package = CJK_FONT_PACKAGE,
                "no Chinese font found; Chinese text will show as boxes"
            );
        }
        return false;
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "could not read the Chinese font");
            return false;
        }
    };
    let mut data = FontData::from_owned(bytes);
    data.index = index;
    let families = [FontFamily::Proportional, FontFamily::Monospace]
        .into_iter()
        .map(|family| InsertFontFamily {
            family,
            priority: FontPriority::Lowest,
        })
        .collect();
    ctx.add_font(FontInsert::new(CJK_FONT_NAME, data, families));
    tracing::debug!(path = %path.display(), "Chinese font added");
    true
}

/// Larger text than egui's defaults: the window is read by people who may not see well
/// and have never seen it before.
pub fn apply_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        let sizes = [
            (TextStyle::Small, 13.0, FontFamily::Proportional),
            (TextStyle::Body, 16.0, FontFamily::Proportional),
            (TextStyle::Button, 16.0, FontFamily::Proportional),
            (TextStyle::Heading, 22.0, FontFamily::Proportional),
            (TextStyle::Monospace, 15.0, FontFamily::Monospace),
        ];
        for (text_style, size, family) in sizes {
            style
                .text_styles
                .insert(text_style, FontId::new(size, family));
        }
        style.spacing.item_spacing = egui::vec2(8.0, 8.0);
        style.spacing.button_padding = egui::vec2(12.0, 6.0);
        style.spacing.interact_size.y = 26.0;
        style.spacing.icon_width = 20.0;
        style.spacing.icon_width_inner = 12.0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_candidates_give_no_font() {
        let ctx = egui::Context::default();
        let nowhere = [("/nonexistent/lifeline/font.ttc", 0)];
        assert_eq!(find_cjk_font(&nowhere), None);
        assert!(!install_cjk_font(&ctx, Lang::ZhCn, &nowhere));
    }
}
