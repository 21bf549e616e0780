//! The demo tenant's billing for Globex: contract lines, prepaid hours
//! partly used, twelve months of usage, and invoices in every state —
//! a draft, sent, partially paid, paid, overdue, cancelled — and a credit
//! note, with their payments.

use porta_core::billing::PaymentMethod;
use porta_core::billing::{CalendarDate, Frequency, Quantity, TaxRate};
use porta_core::clock::UnixMillis;
use porta_core::db::billing::contracts::{self, NewContractLine};
use porta_core::db::billing::invoices::{self, NewDraft, NewLine};
use porta_core::db::billing::payments::{self, NewPayment};
use porta_core::db::billing::prepaid::{self, NewBlock};
use porta_core::db::billing::Scope;
use porta_core::db::Db;
use porta_core::ids::{InvoiceId, TenantId};

use crate::demo_data::Cast;

const VAT: TaxRate = TaxRate(2000);

fn days(n: i64) -> anyhow::Result<CalendarDate> {
    CalendarDate::today()
        .plus_days(n)
        .ok_or_else(|| anyhow::anyhow!("a demo date off the calendar"))
}

/// A draft with `lines` (description, quantity in thousandths, unit
/// price in cents) for the month that started `months_ago` months back.
async fn invoice(
    db: &Db,
    scope: Scope,
    credit_note: bool,
    months_ago: i64,
    lines: &[(&str, i64, i64)],
    credit: Option<(&str, i64)>,
) -> anyhow::Result<InvoiceId> {
    let now = UnixMillis::now();
    let id = invoices::create_draft(
        db,
        scope,
        &NewDraft {
            credit_note,
            terms_days: 30,
            memo: "Thank you for your business. Payment by bank transfer to the account on file.",
        },
        now,
    )
    .await?;
    let start = days(0)?
        .plus_months(-months_ago)
        .map(CalendarDate::first_of_month)
        .ok_or_else(|| anyhow::anyhow!("a demo month off the calendar"))?;
    for (description, quantity, price) in lines {
        invoices::add_line(
            db,
            scope,
            id,
            &NewLine {
                description,
                quantity: Quantity(*quantity),
                unit_price_minor: *price,
                tax_rate: VAT,
                service_start: Some(start),
                service_end: Some(start.last_of_month()),
            },
            now,
        )
        .await?;
    }
    if let Some((description, amount)) = credit {
        invoices::add_credit(db, scope, id, description, amount, now).await?;
    }
    Ok(id)
}

async fn pay(
    db: &Db,
    scope: Scope,
    id: InvoiceId,
    amount: i64,
    on: CalendarDate,
    reference: &str,
) -> anyhow::Result<()> {
    payments::record(
        db,
        scope,
        id,
        &NewPayment {
            amount_minor: amount,
            paid_on: on,
            method: PaymentMethod::BankTransfer,
            reference,
            recorded_by: None,
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

pub async fn seed(db: &Db, tenant: TenantId, cast: &Cast) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    let scope = Scope::staff(tenant, cast.company("globex")?);

    // Contract lines, and twelve months of usage of the metered ones.
    let year_ago = days(-400)?;
    let seats = contracts::add(
        db,
        scope,
        &NewContractLine {
            service: "Managed workstations",
            description: "Patching, monitoring and support for each workstation.",
            rate_minor: 4_500,
            frequency: Frequency::Monthly,
            unit: "device",
            start_date: year_ago,
            end_date: None,
        },
        now,
    )
    .await?;
    let backup = contracts::add(
        db,
        scope,
        &NewContractLine {
            service: "Cloud backup",
            description: "Offsite backup of the file server and mailboxes.",
            rate_minor: 12,
            frequency: Frequency::Monthly,
            unit: "GB",
            start_date: year_ago,
            end_date: None,
        },
        now,
    )
    .await?;
    contracts::add(
        db,
        scope,
        &NewContractLine {
            service: "Firewall licence",
            description: "",
            rate_minor: 89_000,
            frequency: Frequency::Annually,
            unit: "",
            start_date: year_ago,
            end_date: Some(days(330)?),
        },
        now,
    )
    .await?;
    let this_month = CalendarDate::today().month();
    for (i, month) in this_month.last_twelve().into_iter().enumerate() {
        let i = i as i64;
        let devices = 38 + i / 2 + if i % 4 == 3 { 2 } else { 0 };
        contracts::set_usage(db, scope, seats, month, Quantity::whole(devices), now).await?;
        let gigabytes = 1_200_000 + i * 85_500 + (i % 3) * 12_250;
        contracts::set_usage(db, scope, backup, month, Quantity(gigabytes), now).await?;
    }

    // Prepaid hours: one block partly used, one used up.
    let block = prepaid::add(
        db,
        scope,
        &NewBlock {
            name: "Support hours 2026",
            minutes_bought: 40 * 60,
            purchased_on: days(-120)?,
            expires_on: Some(days(245)?),
        },
        now,
    )
    .await?;
    prepaid::draw(db, scope, block, 26 * 60 + 30, now).await?;
    let spent = prepaid::add(
        db,
        scope,
        &NewBlock {
            name: "Office move project hours",
            minutes_bought: 10 * 60,
            purchased_on: days(-300)?,
            expires_on: None,
        },
        now,
    )
    .await?;
    prepaid::draw(db, scope, spent, 10 * 60, now).await?;

    // Invoices in every state, oldest first so that the numbers follow the
    // dates. Cents: 40 devices at 45.00 and so on.
    let monthly = |devices: i64, gb_milli: i64| {
        vec![
            ("Managed workstations", devices * 1000, 4_500),
            ("Cloud backup storage (GB)", gb_milli, 12),
        ]
    };
    // Paid, four months ago.
    let paid = invoice(db, scope, false, 4, &monthly(40, 1_450_000), None).await?;
    let fin = invoices::finalize(db, scope, paid, days(-120)?, now).await?;
    let total = invoices::find(db, scope, paid)
        .await?
        .map_or(0, |i| i.due_minor());
    pay(
        db,
        scope,
        paid,
        total,
        days(-100)?,
        &format!("{fin} bank transfer"),
    )
    .await?;
    // Cancelled and reissued, three months ago.
    let cancelled = invoice(db, scope, false, 3, &monthly(44, 1_500_000), None).await?;
    invoices::finalize(db, scope, cancelled, days(-92)?, now).await?;
    invoices::cancel(db, scope, cancelled, "Wrong device count; reissued.", now).await?;
    // Overdue: issued 75 days ago, nothing paid.
    let overdue = invoice(db, scope, false, 2, &monthly(41, 1_520_000), None).await?;
    invoices::finalize(db, scope, overdue, days(-75)?, now).await?;
    // A credit note for the outage.
    let note = invoice(
        db,
        scope,
        true,
        2,
        &[("Service credit: mail outage of two days", 1000, 15_000)],
        None,
    )
    .await?;
    invoices::finalize(db, scope, note, days(-60)?, now).await?;
    // Partially paid, with a credit applied.
    let partial = invoice(
        db,
        scope,
        false,
        1,
        &[
            ("Managed workstations", 42_000, 4_500),
            ("Cloud backup storage (GB)", 1_610_500, 12),
            ("Onsite visit: server room cabling", 3_500, 9_500),
        ],
        Some(("Goodwill credit for the mail outage", 15_000)),
    )
    .await?;
    invoices::finalize(db, scope, partial, days(-20)?, now).await?;
    pay(db, scope, partial, 100_000, days(-5)?, "Part payment").await?;
    // Sent this week, not yet due.
    let sent = invoice(db, scope, false, 0, &monthly(43, 1_690_000), None).await?;
    invoices::finalize(db, scope, sent, days(-3)?, now).await?;
    // A draft for next month (never shown to the client).
    invoice(db, scope, false, -1, &monthly(43, 1_700_000), None).await?;
    Ok(())
}
