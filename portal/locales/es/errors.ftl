# Páginas de error (portal/src/error.rs). `error-{code}` da a un error con código
# (AppError::invalid("code", …)) su texto en el idioma del lector.
error-title-unknown-host = Portal no encontrado
error-unknown-host = No hay ningún portal de clientes en esta dirección. Compruebe el enlace que ha seguido.
error-title-not-found = No encontrado
error-not-found = Esta página no existe.
error-title-unauthenticated = Es necesario iniciar sesión
error-unauthenticated = Inicie sesión para continuar.
error-title-not-allowed = No permitido
error-permission-denied = Su cuenta no tiene permiso para abrir esta página. Si lo necesita, pídaselo a su administrador.
error-wrong-user-type = esta cuenta no tiene acceso aquí
error-title-forbidden = Prohibido
error-forbidden = Se ha rechazado esta solicitud.
error-title-bad-request = Solicitud incorrecta
error-title-conflict = Conflicto
error-title-too-large = Demasiado grande
error-too-large = el cuerpo de la solicitud es demasiado grande
error-title-unsupported = Solicitud no admitida
error-unsupported = aquí no se acepta este tipo de cuerpo de solicitud
error-title-unavailable = No disponible temporalmente
error-unavailable = El portal no puede conectar con su base de datos en este momento. Vuelva a intentarlo en un minuto.
error-title-internal = Algo ha salido mal
error-internal = El portal no ha podido completar esta solicitud. Vuelva a intentarlo.
error-invalid_board = Elija uno de los tableros disponibles.
error-invalid_priority = Elija una de las prioridades disponibles.
error-invalid_language = Elija uno de los idiomas disponibles.
error-back-to-the-start-page = Volver a la página de inicio
