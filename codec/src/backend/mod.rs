//! The openh264 backend: encoder, decoder and the check that its assembly is linked.

pub(crate) mod assembly;
pub(crate) mod decoder;
pub(crate) mod encoder;
