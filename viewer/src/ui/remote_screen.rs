//! The remote screen: one egui texture updated in place from the newest decoded frame,
//! drawn fit-to-window or 1:1, and the stats overlay.

use std::sync::Arc;

use egui::{
    Align2, Color32, ColorImage, FontId, ImageData, Rect, Sense, TextureHandle, TextureId,
    TextureOptions, pos2, vec2,
};

use super::geometry::{Placement, ScaleMode};
use crate::link::{Stats, VideoFrame};

/// Why a frame could not be shown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The pixel buffer does not hold `width * height` RGBA pixels.
    #[error("a {width}x{height} frame came with {len} bytes of pixels")]
    WrongLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes received.
        len: usize,
    },
    /// The frame is empty or larger than the graphics driver's textures.
    #[error("a {width}x{height} picture cannot be shown (largest side here: {max_side} pixels)")]
    Size {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The largest texture side the renderer accepts.
        max_side: usize,
    },
}

/// The remote screen's texture and the pixels behind it.
///
/// Allocation per frame: none in steady state. The `ColorImage` is shared with egui
/// (`Arc`) only until the renderer has uploaded it, which happens before the next
/// `App::logic`; then `Arc::get_mut` gives it back and the new frame is converted into
/// the same pixel vector. What remains per frame is egui's bookkeeping of the texture
/// update (one small `ImageDelta` pushed onto a vector that keeps its capacity). If the
/// renderer still holds the image (it has not drawn since the last frame), a new image
/// is allocated once and counted in [`RemoteTexture::allocations`].
pub struct RemoteTexture {
    texture: Option<TextureHandle>,
    image: Arc<ColorImage>,
    options: TextureOptions,
    sequence: Option<u64>,
    allocations: u64,
}

impl std::fmt::Debug for RemoteTexture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTexture")
            .field("size", &self.size())
            .field("sequence", &self.sequence)
            .field("allocations", &self.allocations)
            .finish_non_exhaustive()
    }
}

impl Default for RemoteTexture {
    fn default() -> Self {
        Self {
            texture: None,
            image: Arc::new(ColorImage::new([0, 0], Vec::new())),
            options: TextureOptions::LINEAR,
            sequence: None,
            allocations: 0,
        }
    }
}

impl RemoteTexture {
    /// Shows `frame` from now on. The frame's buffer is left to the caller to recycle.
    pub fn upload(&mut self, ctx: &egui::Context, frame: &VideoFrame) -> Result<(), UploadError> {
        let (width, height) = (frame.width as usize, frame.height as usize);
        let max_side = ctx.input(|i| i.max_texture_side);
        if width == 0 || height == 0 || width > max_side || height > max_side {
            return Err(UploadError::Size {
                width: frame.width,
                height: frame.height,
                max_side,
            });
        }
        if width.checked_mul(height).and_then(|n| n.checked_mul(4)) != Some(frame.rgba.len()) {
            return Err(UploadError::WrongLength {
                width: frame.width,
                height: frame.height,
                len: frame.rgba.len(),
            });
        }
        let image = match Arc::get_mut(&mut self.image) {
            Some(image) => image,
            None => {
                // egui still holds the previous image: start a fresh one.
                self.image = Arc::new(ColorImage::new([0, 0], Vec::new()));
                Arc::make_mut(&mut self.image)
            }
        };
        let pixels = width * height;
        if image.pixels.capacity() < pixels {
            self.allocations += 1;
        }
        image.pixels.resize(pixels, Color32::BLACK);
        image.size = [width, height];
        image.source_size = vec2(width as f32, height as f32);
        // The remote screen is opaque: alpha is forced to 255.
        for (pixel, rgba) in image.pixels.iter_mut().zip(frame.rgba.chunks_exact(4)) {
            *pixel = Color32::from_rgb(rgba[0], rgba[1], rgba[2]);
        }
        let data = ImageData::Color(Arc::clone(&self.image));
        match &mut self.texture {
            Some(texture) => texture.set(data, self.options),
            None => self.texture = Some(ctx.load_texture("remote-screen", data, self.options)),
        }
        self.sequence = Some(frame.sequence);
        Ok(())
    }

    /// Chooses the sampling (linear when scaled, nearest at 1:1), re-sending the
    /// current picture if it changes.
    pub fn set_options(&mut self, options: TextureOptions) {
        if self.options == options {
            return;
        }
        self.options = options;
        if let Some(texture) = &mut self.texture {
            texture.set(ImageData::Color(Arc::clone(&self.image)), options);
        }
    }

    /// Forgets the picture (the session ended).
    pub fn clear(&mut self) {
        self.texture = None;
        self.sequence = None;
    }

    /// The texture's size in pixels, once a frame arrived.
    pub fn size(&self) -> Option<[usize; 2]> {
        self.texture.as_ref().map(TextureHandle::size)
    }

    /// The texture, once a frame arrived.
    pub fn texture_id(&self) -> Option<TextureId> {
        self.texture.as_ref().map(TextureHandle::id)
    }

    /// The sequence number of the frame shown.
    pub fn sequence(&self) -> Option<u64> {
        self.sequence
    }

    /// How many times a pixel buffer had to be allocated.
    pub fn allocations(&self) -> u64 {
        self.allocations
    }
}

/// Where the picture was drawn this frame, and its hover/focus response.
#[derive(Debug)]
pub struct Drawn {
    /// The picture's place.
    pub placement: Placement,
    /// The picture's response (covers only its visible part).
    pub response: egui::Response,
}

/// Draws the remote screen over all of `ui`'s space, black around it.
pub fn remote_screen_ui(
    ui: &mut egui::Ui,
    screen: &RemoteTexture,
    mode: ScaleMode,
) -> Option<Drawn> {
    let area = ui.max_rect();
    ui.painter().rect_filled(area, 0.0, Color32::BLACK);
    let (Some(texture), Some([width, height])) = (screen.texture_id(), screen.size()) else {
        ui.put(
            Rect::from_center_size(area.center(), vec2(area.width(), 40.0)),
            egui::Label::new(
                egui::RichText::new("Waiting for the first picture…")
                    .size(18.0)
                    .color(Color32::GRAY),
            ),
        );
        return None;
    };
    let remote_size = [width as u32, height as u32];
    let full_uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
    match mode {
        ScaleMode::Fit => {
            let placement = Placement::fit(area, remote_size);
            let response = ui.allocate_rect(placement.rect(), Sense::click_and_drag());
            ui.painter()
                .image(texture, placement.rect(), full_uv, Color32::WHITE);
            Some(Drawn {
                placement,
                response,
            })
        }
        ScaleMode::Actual => {
            let pixels_per_point = ui.pixels_per_point();
            let size = vec2(width as f32, height as f32) / pixels_per_point;
            let output = egui::ScrollArea::both()
                .id_salt("remote-screen-scroll")
                .auto_shrink([false, false])
                // The wheel and drags belong to the remote screen; only the bars scroll.
                .scroll_source(egui::containers::scroll_area::ScrollSource::SCROLL_BAR)
                .show(ui, |ui| {
                    let viewport = ui.clip_rect();
                    let scroll = viewport.min - ui.max_rect().min;
                    let placement =
                        Placement::actual(viewport, remote_size, pixels_per_point, scroll);
                    let (_, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
                    ui.painter()
                        .image(texture, placement.rect(), full_uv, Color32::WHITE);
                    Drawn {
                        placement,
                        response,
                    }
                });
            Some(output.inner)
        }
    }
}

/// The live numbers in the top-right corner of `area`.
pub fn stats_overlay_ui(ui: &mut egui::Ui, area: Rect, stats: &Stats) {
    let lines = [
        format!("{:.0} fps", stats.fps),
        format!("RTT {:.0} ms", stats.rtt_ms),
        format!("{:.2} Mbit/s", stats.bitrate_bps / 1_000_000.0),
        format!("latency {:.0} ms", stats.latency_ms),
        format!("decode {:.1} ms", stats.decode_ms),
    ];
    let font = FontId::monospace(13.0);
    let line_height = ui.ctx().fonts_mut(|fonts| fonts.row_height(&font));
    let width = 150.0;
    let height = line_height * lines.len() as f32 + 12.0;
    let rect = Rect::from_min_size(
        pos2(area.max.x - width - 16.0, area.min.y + 8.0),
        vec2(width, height),
    );
    let painter = ui.painter_at(area);
    painter.rect_filled(rect, 6.0, Color32::from_black_alpha(180));
    for (i, line) in lines.iter().enumerate() {
        painter.text(
            pos2(rect.min.x + 10.0, rect.min.y + 6.0 + line_height * i as f32),
            Align2::LEFT_TOP,
            line,
            font.clone(),
            Color32::from_gray(235),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, sequence: u64) -> VideoFrame {
        VideoFrame {
            width,
            height,
            rgba: vec![200; (width * height * 4) as usize],
            sequence,
        }
    }

    #[test]
    fn the_pixel_buffer_is_reused_once_the_renderer_has_the_frame() {
        let ctx = egui::Context::default();
        let mut screen = RemoteTexture::default();
        for sequence in 0..3 {
            let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
                screen
                    .upload(ui.ctx(), &frame(64, 32, sequence))
                    .expect("uploaded");
            });
            // The renderer uploads `textures_delta`, then drops it.
            output.textures_delta.clear();
        }
        assert_eq!(screen.size(), Some([64, 32]));
        assert_eq!(screen.sequence(), Some(2));
        assert_eq!(screen.allocations(), 1, "one buffer for three frames");
    }

    #[test]
    fn bad_frames_are_refused() {
        let ctx = egui::Context::default();
        let mut screen = RemoteTexture::default();
        let mut short = frame(4, 4, 0);
        short.rgba.pop();
        assert!(matches!(
            screen.upload(&ctx, &short),
            Err(UploadError::WrongLength { .. })
        ));
        assert!(matches!(
            screen.upload(&ctx, &frame(0, 4, 0)),
            Err(UploadError::Size { .. })
        ));
        assert!(matches!(
            screen.upload(&ctx, &frame(1, 1_000_000, 0)),
            Err(UploadError::Size { .. })
        ));
        assert_eq!(screen.size(), None);
    }
}
