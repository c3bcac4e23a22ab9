//! Just enough H.264 parsing to check untrusted streams before the decoder sees them:
//! split Annex-B into NAL units, and read the picture size from sequence parameter
//! sets so that a hostile SPS cannot make the decoder allocate huge pictures.

use thiserror::Error;

/// Why a parameter set could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpsError {
    /// The SPS ends before the picture size.
    #[error("sequence parameter set is truncated")]
    Truncated,
    /// A field has a value the standard does not allow.
    #[error("sequence parameter set field `{0}` is out of range")]
    OutOfRange(&'static str),
}

/// Picture size and reference count announced by a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpsInfo {
    /// Coded width in pixels (macroblocks x 16, before cropping).
    pub width: u32,
    /// Coded height in pixels (before cropping).
    pub height: u32,
    /// `max_num_ref_frames`.
    pub max_ref_frames: u32,
}

/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a subset sequence parameter set (SVC/MVC).
pub const NAL_SUBSET_SPS: u8 = 15;

/// Iterates over the NAL units (without start codes) of an Annex-B buffer. Bytes
/// before the first start code are ignored.
pub fn nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = find_start(stream).map_or(&[][..], |at| &stream[at..]);
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = find_start_code(rest).unwrap_or(rest.len());
        let mut unit = &rest[..end];
        rest = find_start(&rest[end..]).map_or(&[][..], |at| &rest[end + at..]);
        // A four-byte start code leaves a zero byte at the end of the previous unit.
        while let [head @ .., 0] = unit {
            unit = head;
        }
        Some(unit)
    })
}

/// Position just after the first start code.
fn find_start(data: &[u8]) -> Option<usize> {
    find_start_code(data).map(|at| at + 3)
}

/// Position of the first `00 00 01`.
fn find_start_code(data: &[u8]) -> Option<usize> {
    data.windows(3).position(|w| w == [0, 0, 1])
}

/// Reads the picture size from an SPS NAL unit (header byte included).
///
/// # Errors
/// [`SpsError`] if the unit is truncated or malformed.
pub fn parse_sps(nal: &[u8]) -> Result<SpsInfo, SpsError> {
    let payload = nal.get(1..).ok_or(SpsError::Truncated)?;
    let rbsp = unescape(payload);
    let mut bits = BitReader::new(&rbsp);
    let profile_idc = bits.bits(8)?;
    bits.bits(16)?; // constraint flags, level_idc
    if bits.ue()? > 31 {
        return Err(SpsError::OutOfRange("seq_parameter_set_id"));
    }
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        let chroma_format_idc = bits.ue()?;
        if chroma_format_idc > 3 {
            return Err(SpsError::OutOfRange("chroma_format_idc"));
        }
        if chroma_format_idc == 3 {
            bits.bits(1)?;
        }
        if bits.ue()? > 6 || bits.ue()? > 6 {
            return Err(SpsError::OutOfRange("bit_depth"));
        }
        bits.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if bits.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for list in 0..lists {
                if bits.bits(1)? == 1 {
                    skip_scaling_list(&mut bits, if list < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    if bits.ue()? > 12 {
        return Err(SpsError::OutOfRange("log2_max_frame_num_minus4"));
    }
    match bits.ue()? {
        0 => {
            if bits.ue()? > 12 {
                return Err(SpsError::OutOfRange("log2_max_pic_order_cnt_lsb_minus4"));
            }
        }
        1 => {
            bits.bits(1)?;
            bits.se()?;
            bits.se()?;
            let cycle = bits.ue()?;
            if cycle > 255 {
                return Err(SpsError::OutOfRange(
                    "num_ref_frames_in_pic_order_cnt_cycle",
                ));
            }
            for _ in 0..cycle {
                bits.se()?;
            }
        }
        2 => {}
        _ => return Err(SpsError::OutOfRange("pic_order_cnt_type")),
    }
    let max_ref_frames = bits.ue()?;
    if max_ref_frames > 16 {
        return Err(SpsError::OutOfRange("max_num_ref_frames"));
    }
    bits.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(bits.ue()?) + 1;
    let height_map_units = u64::from(bits.ue()?) + 1;
    let frame_mbs_only = bits.bits(1)?;
    let height_mbs = height_map_units * (2 - u64::from(frame_mbs_only));
    let width = u32::try_from(width_mbs * 16).map_err(|_| SpsError::OutOfRange("pic_width"))?;
    let height = u32::try_from(height_mbs * 16).map_err(|_| SpsError::OutOfRange("pic_height"))?;
    Ok(SpsInfo {
        width,
        height,
        max_ref_frames,
    })
}

fn skip_scaling_list(bits: &mut BitReader<'_>, size: usize) -> Result<(), SpsError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = bits.se()?;
            if !(-128..=127).contains(&delta) {
                return Err(SpsError::OutOfRange("delta_scale"));
            }
            next = (last + delta + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Removes emulation prevention bytes (`00 00 03` -> `00 00`).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &byte in data {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

struct BitReader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }

    fn bit(&mut self) -> Result<u32, SpsError> {
        let byte = self
            .data
            .get(self.position / 8)
            .ok_or(SpsError::Truncated)?;
        let bit = (byte >> (7 - self.position % 8)) & 1;
        self.position += 1;
        Ok(u32::from(bit))
    }

    fn bits(&mut self, count: u32) -> Result<u32, SpsError> {
        let mut value = 0;
        for _ in 0..count {
            value = (value << 1) | self.bit()?;
        }
        Ok(value)
    }

    /// Unsigned Exp-Golomb code, at most 32 bits of value.
    fn ue(&mut self) -> Result<u32, SpsError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(SpsError::OutOfRange("exp-golomb code"));
            }
        }
        let suffix = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(suffix)).min(u64::from(u32::MAX)) as u32)
    }

    /// Signed Exp-Golomb code.
    fn se(&mut self) -> Result<i64, SpsError> {
        let code = i64::from(self.ue()?);
        Ok(if code % 2 == 1 {
            (code + 1) / 2
        } else {
            -(code / 2)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Baseline SPS of a 1920x1080 stream (coded 1920x1088): profile 66, level 40,
    // id 0, log2_max_frame_num-4 = 0, poc type 2, 1 ref frame, 120x68 macroblocks.
    fn sps_1080p() -> Vec<u8> {
        encode_sps(66, &[0, 0, 2, 1], 119, 67, true)
    }

    /// Writes a minimal SPS: profile, [sps_id, log2_max_frame_num-4, poc_type(2), refs].
    fn encode_sps(
        profile: u8,
        fields: &[u32; 4],
        width_m1: u32,
        height_m1: u32,
        frame_mbs_only: bool,
    ) -> Vec<u8> {
        let mut bits: Vec<bool> = Vec::new();
        let put = |value: u32, count: u32, bits: &mut Vec<bool>| {
            for i in (0..count).rev() {
                bits.push((value >> i) & 1 == 1);
            }
        };
        let ue = |value: u32, bits: &mut Vec<bool>| {
            let v = u64::from(value) + 1;
            let len = 64 - v.leading_zeros();
            bits.extend(std::iter::repeat_n(false, len as usize - 1));
            for i in (0..len).rev() {
                bits.push((v >> i) & 1 == 1);
            }
        };
        put(u32::from(profile), 8, &mut bits);
        put(0, 8, &mut bits);
        put(40, 8, &mut bits);
        for &field in fields {
            ue(field, &mut bits);
        }
        put(0, 1, &mut bits);
        ue(width_m1, &mut bits);
        ue(height_m1, &mut bits);
        put(u32::from(frame_mbs_only), 1, &mut bits);
        bits.push(true); // stop bit
        let mut out = vec![0x67];
        for chunk in bits.chunks(8) {
            let mut byte = 0u8;
            for (i, &bit) in chunk.iter().enumerate() {
                byte |= u8::from(bit) << (7 - i);
            }
            out.push(byte);
        }
        out
    }

    #[test]
    fn reads_picture_size() {
        let info = parse_sps(&sps_1080p()).unwrap();
        assert_eq!(
            (info.width, info.height, info.max_ref_frames),
            (1920, 1088, 1)
        );
        let interlaced = parse_sps(&encode_sps(66, &[0, 0, 2, 1], 44, 17, false)).unwrap();
        assert_eq!((interlaced.width, interlaced.height), (720, 576));
    }

    #[test]
    fn huge_and_truncated_sps_are_reported() {
        let huge = parse_sps(&encode_sps(66, &[0, 0, 2, 1], 100_000, 100_000, true)).unwrap();
        assert_eq!((huge.width, huge.height), (1_600_016, 1_600_016));
        let sps = sps_1080p();
        assert_eq!(parse_sps(&sps[..6]), Err(SpsError::Truncated));
        assert_eq!(
            parse_sps(&encode_sps(66, &[0, 0, 2, 17], 1, 1, true)),
            Err(SpsError::OutOfRange("max_num_ref_frames"))
        );
        assert_eq!(parse_sps(&[0x67]), Err(SpsError::Truncated));
        assert!(parse_sps(&[0x67, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn splits_annex_b() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0, 0, 3, 1,
        ];
        let units: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(
            units,
            vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0, 0, 3, 1]]
        );
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}
