//! The agent's pointer drawn over the remote picture, from the image and position the
//! agent sends apart from the video (see [`crate::cursor`]).
//!
//! While the technician's own pointer is over the picture and drives the remote one
//! (input granted), the system pointer is hidden and the remote pointer's image is
//! drawn where the technician's pointer is, at once: the remote pointer follows there
//! anyway, and nobody waits a round trip to see where they point. Otherwise (view
//! only, or the pointer elsewhere) the image is drawn where the agent says its pointer
//! is.

use egui::{Color32, ColorImage, Pos2, Rect, TextureHandle, TextureOptions, pos2, vec2};

use super::geometry::Placement;
use crate::cursor::RemoteCursor;
use crate::link::Update;

/// The pointer's image as a texture, and what the agent said about it.
#[derive(Default)]
pub struct CursorOverlay {
    cursor: RemoteCursor,
    texture: Option<TextureHandle>,
    image_changed: bool,
}

impl std::fmt::Debug for CursorOverlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorOverlay")
            .field("cursor", &self.cursor.position())
            .finish_non_exhaustive()
    }
}

impl CursorOverlay {
    /// Takes a pointer or monitor update; returns whether the picture must be redrawn.
    pub fn apply(&mut self, update: &Update) -> bool {
        if matches!(update, Update::CursorImage(_)) {
            self.image_changed = true;
        }
        self.cursor.apply(update)
    }

    /// Forgets the pointer (the session ended).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// What the agent said about its pointer.
    pub fn cursor(&self) -> &RemoteCursor {
        &self.cursor
    }

    /// Draws the pointer on the picture at `placement`, clipped to `clip`. `local` is
    /// the technician's pointer when it drives the remote one: the image is drawn
    /// there and the system pointer is hidden.
    pub fn paint_ui(
        &mut self,
        ui: &egui::Ui,
        placement: &Placement,
        clip: Rect,
        local: Option<Pos2>,
    ) {
        let [picture_width, _] = placement.remote_size;
        let image = self.cursor.image();
        if image.width == 0 || image.height == 0 {
            return;
        }
        let (image_width, image_height, hot_x, hot_y) = (
            image.width as f32,
            image.height as f32,
            image.hot_x as f32,
            image.hot_y as f32,
        );
        let points_per_image_pixel = |scale: f32| scale * placement.points_per_pixel;
        let rect = match local {
            Some(pointer) => {
                ui.ctx().set_cursor_icon(egui::CursorIcon::None);
                let scale = self
                    .cursor
                    .placement(picture_width)
                    .map_or(1.0, |p| p.scale);
                let size = points_per_image_pixel(scale);
                Rect::from_min_size(
                    pointer - vec2(hot_x, hot_y) * size,
                    vec2(image_width, image_height) * size,
                )
            }
            None => {
                let Some(at) = self.cursor.placement(picture_width) else {
                    return;
                };
                let size = points_per_image_pixel(at.scale);
                Rect::from_min_size(
                    placement.origin + vec2(at.left, at.top) * placement.points_per_pixel,
                    vec2(image_width, image_height) * size,
                )
            }
        };
        let texture = self.texture(ui.ctx());
        ui.painter_at(clip).image(
            texture.id(),
            rect,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }

    fn texture(&mut self, ctx: &egui::Context) -> TextureHandle {
        if let Some(texture) = self.texture.as_ref().filter(|_| !self.image_changed) {
            return texture.clone();
        }
        let image = self.cursor.image();
        let pixels = ColorImage::from_rgba_premultiplied(
            [image.width as usize, image.height as usize],
            &image.rgba,
        );
        self.image_changed = false;
        let texture = ctx.load_texture("remote-pointer", pixels, TextureOptions::NEAREST);
        self.texture = Some(texture.clone());
        texture
    }
}
