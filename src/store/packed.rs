//! Payloads as stored: LZ4-compressed when that saves a worthwhile share, kept as they are otherwise.
//!
//! On two cores ingest of a large handover was bound as much by writing its bytes (copied into the
//! WAL, checksummed, copied again at checkpoint, all on the single writer thread) as by validating
//! them. FHIR JSON and XML shrink about four times with LZ4 at a small fraction of a parse's CPU, and
//! the compression runs on the HTTP worker that checked the message, not on the writer.
//!
//! A packed value starts with a byte that no UTF-8 text (nor a UTF-16 byte-order mark) starts with, so
//! rows written before packing existed, and payloads that were not worth packing, read back as they
//! are. What leaves the broker is always the unpacked bytes: exactly what was received, whose SHA-256
//! the ledger names.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;

/// `0xF8` never occurs in UTF-8; the rest names the format for someone reading the database by hand.
const MAGIC: [u8; 4] = [0xF8, b'L', b'Z', b'4'];
/// Below this, the header and the compressor's framing eat what little there is to gain.
const MIN_PACKED_LEN: usize = 512;

/// A payload in its stored form.
#[derive(Debug, Clone)]
pub struct Packed(Vec<u8>);

impl Packed {
    /// `bytes` compressed, if that makes them at least an eighth smaller; else a copy.
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() < MIN_PACKED_LEN {
            return Self(bytes.to_vec());
        }
        // One buffer: the magic, the unpacked length (as `unpack` reads it), then the block written in place.
        let Ok(len) = u32::try_from(bytes.len()) else { return Self(bytes.to_vec()) };
        let header = MAGIC.len() + 4;
        let mut stored = vec![0; header + lz4_flex::block::get_maximum_output_size(bytes.len())];
        stored[..MAGIC.len()].copy_from_slice(&MAGIC);
        stored[MAGIC.len()..header].copy_from_slice(&len.to_le_bytes());
        match lz4_flex::block::compress_into(bytes, &mut stored[header..]) {
            Ok(written) if header + written <= bytes.len() - bytes.len() / 8 => {
                stored.truncate(header + written);
                Self(stored)
            }
            _ => Self(bytes.to_vec()),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The bytes a stored value stands for.
pub fn unpack(stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let Some(packed) = stored.strip_prefix(&MAGIC) else { return Ok(stored) };
    let corrupt = |why: String| StoreError::Corrupt(format!("a stored payload does not decompress: {why}"));
    let (size, block) = packed.split_first_chunk::<4>().ok_or_else(|| corrupt("no length".into()))?;
    let size = u32::from_le_bytes(*size) as usize;
    // LZ4 cannot expand a block more than 255 times: a larger claim is damage, not a reason to allocate.
    if size > block.len().saturating_mul(255) {
        return Err(corrupt(format!("{size} bytes claimed from {}", block.len())));
    }
    lz4_flex::block::decompress(block, size).map_err(|e| corrupt(e.to_string()))
}

/// The bytes that column `name` of `row` stands for.
pub(super) fn column(row: &AnyRow, name: &str) -> Result<Vec<u8>, StoreError> {
    unpack(row.try_get(name)?)
}

/// [`column`] of a column that may be NULL (a purged payload, a message without an XML form).
pub(super) fn column_opt(row: &AnyRow, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    row.try_get::<Option<Vec<u8>>, _>(name)?.map(unpack).transpose()
}

#[cfg(test)]
mod tests {
    use super::{unpack, Packed, MAGIC};

    #[test]
    fn a_handover_is_packed_smaller_and_unpacks_to_the_same_bytes() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/handovers/discharge-summary-nl.json"))
            .unwrap();
        let packed = Packed::new(&bytes);
        assert!(packed.as_bytes().starts_with(&MAGIC));
        assert!(packed.as_bytes().len() < bytes.len() / 3, "{} of {}", packed.as_bytes().len(), bytes.len());
        assert_eq!(unpack(packed.as_bytes().to_vec()).unwrap(), bytes);
    }

    #[test]
    fn small_or_incompressible_payloads_and_rows_stored_before_packing_read_as_they_are() {
        let small = br#"{"resourceType":"Bundle"}"#.to_vec();
        assert_eq!(Packed::new(&small).as_bytes(), &small[..]);
        // Pseudo-random bytes do not compress: stored as they are.
        let mut noise = vec![0u8; 4096];
        let mut x: u32 = 2463534242;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        assert_eq!(Packed::new(&noise).as_bytes(), &noise[..]);
        let old_row = br#"{"resourceType":"Bundle","type":"message"}"#.to_vec();
        assert_eq!(unpack(old_row.clone()).unwrap(), old_row);
    }

    #[test]
    fn a_damaged_packed_value_is_corrupt_not_a_panic() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/handovers/referral-nl.json")).unwrap();
        let mut stored = Packed::new(&bytes).as_bytes().to_vec();
        stored.truncate(stored.len() / 2);
        assert!(unpack(stored).is_err());
        // A length prefix that promises more than is there.
        let mut lying = MAGIC.to_vec();
        lying.extend_from_slice(&u32::MAX.to_le_bytes());
        lying.extend_from_slice(b"xyz");
        assert!(unpack(lying).is_err());
    }
}
