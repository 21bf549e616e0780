//! How validated values are stored: as TEXT, through their `Display` and
//! `FromStr`, so a row that holds an invalid value fails to decode instead
//! of producing an invalid value.

use sqlx::database::Database;
use sqlx::decode::Decode;
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::types::Type;

use crate::billing::{CalendarDate, Frequency, InvoiceState, Month, PaymentMethod};
use crate::challenge_kind::ChallengeKind;
use crate::domain_status::DomainStatus;
use crate::email::EmailAddress;
use crate::host::HostName;
use crate::ids::{
    BoardId, CategoryId, ClientId, CommentId, ContactId, DependencyId, DocumentId, InvitationId,
    NotificationId, OidcProviderId, PhaseId, PortalDomainId, PriorityId, ProjectId, ProjectTaskId, RoleId,
    SessionId, StatusId, TenantId, TicketId, UserId,
};
use crate::ids::{ContractLineId, CreditId, InvoiceId, InvoiceLineId, PaymentId, PrepaidBlockId};
use crate::issuer::{CertificateSource, Issuer};
use crate::money::Currency;
use crate::oidc::OidcPreset;
use crate::project::{DependencyKind, ProjectStatus, TaskPriority, TaskStatus};
use crate::slug::TenantSlug;
use crate::ticket::{NotificationKind, ResponseState, TicketOrigin};
use crate::user_type::UserType;

macro_rules! text_column {
    ($($ty:ty),* $(,)?) => {$(
        impl<DB: Database> Type<DB> for $ty
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $ty
        where
            String: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                self.to_string().encode_by_ref(buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <String as Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    )*};
}

text_column!(
    TenantId,
    ClientId,
    UserId,
    ContactId,
    SessionId,
    RoleId,
    PortalDomainId,
    BoardId,
    StatusId,
    PriorityId,
    CategoryId,
    TicketId,
    CommentId,
    DocumentId,
    NotificationId,
    InvitationId,
    OidcProviderId,
    OidcPreset,
    ProjectId,
    PhaseId,
    ProjectTaskId,
    DependencyId,
    InvoiceId,
    InvoiceLineId,
    CreditId,
    PaymentId,
    ContractLineId,
    PrepaidBlockId,
    InvoiceState,
    Frequency,
    PaymentMethod,
    CalendarDate,
    Month,
    Currency,
    ProjectStatus,
    TaskStatus,
    TaskPriority,
    DependencyKind,
    ResponseState,
    TicketOrigin,
    NotificationKind,
    TenantSlug,
    HostName,
    DomainStatus,
    EmailAddress,
    UserType,
    Issuer,
    CertificateSource,
    ChallengeKind,
);
