# Letters (portal/src/mail/letters.rs).
mail-hello = Hola, { $name }:
mail-reset-subject = Restablezca su contraseña del portal de { $tenant }
mail-reset-title = Restablezca su contraseña
mail-reset-intro = Alguien (esperamos que usted) ha solicitado restablecer la contraseña de su cuenta en el portal de clientes de { $tenant }.
mail-reset-link-intro = Elija una nueva contraseña aquí:
mail-reset-button = Elegir una nueva contraseña
mail-reset-validity = El enlace funciona una sola vez, durante { $minutes } minutos. Si no lo ha solicitado, ignore este mensaje: su contraseña seguirá igual.
mail-invitation-subject = { $inviter } le ha invitado al portal de clientes de { $tenant }
mail-invitation-title = Ha recibido una invitación
mail-invitation-intro = { $inviter } le ha invitado al portal de clientes de { $tenant } para { $company }: cree tickets, siga su evolución y contacte con el equipo de { $tenant }.
mail-invitation-link-intro = Configure su cuenta aquí:
mail-invitation-button = Configurar mi cuenta
mail-invitation-validity = El enlace funciona una sola vez, durante { $hours } horas.
mail-notification-link-intro = Ábralo en el portal:
mail-notification-button = Abrir en el portal
mail-notification-why = Recibe este mensaje debido a su configuración de notificaciones: { $settings }
