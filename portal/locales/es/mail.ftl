# Letters (portal/src/mail/letters.rs).
