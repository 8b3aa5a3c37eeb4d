//! Stored text to domain values, in one place: ids become their newtypes and state names their
//! enums here, so a row the broker did not write (or a renamed state) fails as `Corrupt`, not later.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;
use crate::ledger::LedgerEvent;
use crate::model::{
    DeliveryId, DeliveryState, EventCode, HeaderId, MessageState, OrgId, PatientKey, PayloadHash, TrackingId,
};

/// A text column that holds one kind of id.
pub(super) trait IdColumn {
    fn from_column(text: String) -> Self;
}

macro_rules! id_columns {
    ($($kind:ty),*) => {
        $(impl IdColumn for $kind {
            fn from_column(text: String) -> Self {
                <$kind>::from_stored(text)
            }
        })*
    };
}

id_columns!(TrackingId, DeliveryId, HeaderId, EventCode, PayloadHash, PatientKey, OrgId);

/// The id in column `name`.
pub(super) fn id<T: IdColumn>(row: &AnyRow, name: &str) -> Result<T, StoreError> {
    Ok(T::from_column(row.try_get::<String, _>(name)?))
}

/// The id in column `name`, which may be NULL.
pub(super) fn id_opt<T: IdColumn>(row: &AnyRow, name: &str) -> Result<Option<T>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(name)?.map(T::from_column))
}

/// The delivery state in column `name`.
pub(super) fn delivery_state(row: &AnyRow, name: &str) -> Result<DeliveryState, StoreError> {
    let text: String = row.try_get(name)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("unknown delivery state {text:?}")))
}

/// The message state in column `name`.
pub(super) fn message_state(row: &AnyRow, name: &str) -> Result<MessageState, StoreError> {
    let text: String = row.try_get(name)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("unknown message state {text:?}")))
}

/// The ledger event in column `name`.
pub(super) fn ledger_event(row: &AnyRow, name: &str) -> Result<LedgerEvent, StoreError> {
    let text: String = row.try_get(name)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("unknown ledger event {text:?}")))
}
