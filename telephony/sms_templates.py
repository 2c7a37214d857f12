"""The texts Frontdesk sends, per language. Placeholders are filled with str.format; a language
without a template falls back to English. Customer texts end with the opt-out line carriers expect.
"""
# ruff: noqa: RUF001 - the Russian templates are meant to contain Cyrillic letters.

OPT_OUT = {
    "en": "Reply STOP to opt out.",
    "es": "Responda STOP para no recibir más mensajes.",
    "ru": "Ответьте STOP, чтобы отписаться.",
}

TEMPLATES = {
    "confirmation.booked": {
        "en": "{clinic}: your {service} is booked for {when}. {opt_out}",
        "es": "{clinic}: su cita de {service} está reservada para el {when}. {opt_out}",
        "ru": "{clinic}: вы записаны на {service}: {when}. {opt_out}",
    },
    "confirmation.rescheduled": {
        "en": "{clinic}: your {service} has moved to {when}. {opt_out}",
        "es": "{clinic}: su cita de {service} se ha cambiado al {when}. {opt_out}",
        "ru": "{clinic}: ваша запись на {service} перенесена на {when}. {opt_out}",
    },
    "confirmation.cancelled": {
        "en": "{clinic}: your {service} on {when} is cancelled. Call us to book again. {opt_out}",
        "es": "{clinic}: su cita de {service} del {when} está cancelada. Llámenos para "
        "reservar de nuevo. {opt_out}",
        "ru": "{clinic}: ваша запись на {service} ({when}) отменена. Позвоните нам, чтобы "
        "записаться снова. {opt_out}",
    },
    "reminder": {
        "en": "{clinic}: a reminder of your {service} on {when}. Call {phone} to change it. "
        "{opt_out}",
        "es": "{clinic}: le recordamos su cita de {service} el {when}. Llame al {phone} para "
        "cambiarla. {opt_out}",
        "ru": "{clinic}: напоминаем о записи на {service}: {when}. Чтобы изменить, звоните "
        "{phone}. {opt_out}",
    },
    "help": {
        "en": "{clinic}: appointment texts. Call {phone} for help. Reply STOP to opt out, START "
        "to opt back in.",
        "es": "{clinic}: mensajes sobre sus citas. Llame al {phone} si necesita ayuda. Responda "
        "STOP para darse de baja, START para volver a recibirlos.",
        "ru": "{clinic}: сообщения о записях. Помощь по телефону {phone}. STOP — отписаться, "
        "START — подписаться снова.",
    },
    # Staff texts.
    "message_taken": {
        "en": "{clinic}: message from {caller} ({phone}): {message}",
        "es": "{clinic}: mensaje de {caller} ({phone}): {message}",
        "ru": "{clinic}: сообщение от {caller} ({phone}): {message}",
    },
    "emergency_alert": {
        "en": "EMERGENCY {clinic} {location}: {summary} Caller {phone}. Reply OK to acknowledge.",
        "es": "EMERGENCIA {clinic} {location}: {summary} Paciente {phone}. Responda OK para "
        "confirmar.",
        "ru": "СРОЧНО {clinic} {location}: {summary} Звонивший {phone}. Ответьте OK, чтобы "
        "подтвердить.",
    },
    "emergency_acknowledged": {
        "en": "{clinic}: thank you, the emergency is acknowledged.",
        "es": "{clinic}: gracias, la emergencia queda confirmada.",
        "ru": "{clinic}: спасибо, вызов подтверждён.",
    },
    "transfer_alert": {
        "en": "{clinic}: a caller ({phone}) is being put through to you: {summary}",
        "es": "{clinic}: le pasamos una llamada ({phone}): {summary}",
        "ru": "{clinic}: к вам переводят звонок ({phone}): {summary}",
    },
}

# How appointment times read in a text, per language (Django date format strings; weekday and
# month names come from Django's own translations).
WHEN_FORMATS = {"en": "l j F \\a\\t H:i", "es": "l j \\d\\e F, H:i", "ru": "l, j E, H:i"}
