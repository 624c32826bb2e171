package templates

// messages holds every user-visible text of the pages, keyed by message key
// and then by locale. Every key must have a text for every locale in
// Locales (TestMessagesComplete enforces it). A text may hold one
// placeholder in braces, "{client}" or "{user}"; the page fills it with the
// escaped value (see view.Tf), so translators can put it wherever the
// grammar of their language wants it.
var messages = map[string]map[string]string{
	// Login page.
	"login.title": {
		"en": "Sign in",
		"kk": "Кіру",
		"ru": "Вход",
	},
	"login.lead": {
		"en": "Sign in to continue to {client}",
		"kk": "«{client}» қолданбасына өту үшін жүйеге кіріңіз",
		"ru": "Войдите, чтобы перейти в приложение «{client}»",
	},
	"login.lead_noclient": {
		"en": "Sign in to continue",
		"kk": "Жалғастыру үшін жүйеге кіріңіз",
		"ru": "Войдите, чтобы продолжить",
	},
	"login.username": {
		"en": "Username",
		"kk": "Пайдаланушы аты",
		"ru": "Имя пользователя",
	},
	"login.password": {
		"en": "Password",
		"kk": "Құпиясөз",
		"ru": "Пароль",
	},
	"login.submit": {
		"en": "Sign in",
		"kk": "Кіру",
		"ru": "Войти",
	},
	"login.error.invalid_credentials": {
		"en": "Wrong username or password.",
		"kk": "Қате пайдаланушы аты немесе құпиясөз.",
		"ru": "Неверное имя пользователя или пароль.",
	},
	"login.error.too_many_attempts": {
		"en": "Too many attempts, try again later.",
		"kk": "Тым көп әрекет жасалды. Кейінірек қайталап көріңіз.",
		"ru": "Слишком много попыток. Повторите попытку позже.",
	},
	"login.error.generic": {
		"en": "Sign-in failed. Try again.",
		"kk": "Жүйеге кіру мүмкін болмады. Қайталап көріңіз.",
		"ru": "Не удалось войти. Попробуйте ещё раз.",
	},

	// Consent page.
	"consent.title": {
		"en": "Allow access?",
		"kk": "Рұқсат бересіз бе?",
		"ru": "Разрешить доступ?",
	},
	"consent.lead": {
		"en": "{client} wants to access your account",
		"kk": "«{client}» қолданбасы аккаунтыңызға қол жеткізуді сұрайды",
		"ru": "Приложение «{client}» запрашивает доступ к вашему аккаунту",
	},
	"consent.lead_noclient": {
		"en": "An app wants to access your account",
		"kk": "Қолданба аккаунтыңызға қол жеткізуді сұрайды",
		"ru": "Приложение запрашивает доступ к вашему аккаунту",
	},
	"consent.signed_in_as": {
		"en": "Signed in as {user}",
		"kk": "Кірген пайдаланушы: {user}",
		"ru": "Вы вошли как {user}",
	},
	"consent.scopes": {
		"en": "Requested permissions:",
		"kk": "Сұралатын рұқсаттар:",
		"ru": "Запрашиваемые разрешения:",
	},
	"consent.allow": {
		"en": "Allow",
		"kk": "Рұқсат ету",
		"ru": "Разрешить",
	},
	"consent.deny": {
		"en": "Deny",
		"kk": "Бас тарту",
		"ru": "Отклонить",
	},

	// Scope descriptions on the consent page ("scope." + scope name).
	// A scope without an entry is shown by its name.
	"scope.openid": {
		"en": "Confirm your identity",
		"kk": "Жеке басыңызды растау",
		"ru": "Подтверждение вашей личности",
	},
	"scope.profile": {
		"en": "Your username",
		"kk": "Пайдаланушы атыңыз",
		"ru": "Ваше имя пользователя",
	},
	"scope.email": {
		"en": "Your email address",
		"kk": "Электрондық пошта мекенжайыңыз",
		"ru": "Ваш адрес электронной почты",
	},
	"scope.offline_access": {
		"en": "Stay signed in on this device",
		"kk": "Осы құрылғыда жүйеде қалу",
		"ru": "Сохранение входа на этом устройстве",
	},
	"scope.translate": {
		"en": "Use the translation service",
		"kk": "Аударма қызметін пайдалану",
		"ru": "Использование сервиса перевода",
	},

	// Error page.
	"error.title": {
		"en": "Something went wrong",
		"kk": "Бірдеңе дұрыс болмады",
		"ru": "Что-то пошло не так",
	},
	"error.generic": {
		"en": "The request could not be completed.",
		"kk": "Сұрауды орындау мүмкін болмады.",
		"ru": "Не удалось выполнить запрос.",
	},
	"error.hint": {
		"en": "Go back to the app and try again.",
		"kk": "Қолданбаға оралып, әрекетті қайталаңыз.",
		"ru": "Вернитесь в приложение и попробуйте ещё раз.",
	},
	"error.code_label": {
		"en": "Error code:",
		"kk": "Қате коды:",
		"ru": "Код ошибки:",
	},
	// Human messages for OAuth 2.0 (RFC 6749 §4.1.2.1) and OpenID Connect
	// (Core §3.1.2.6) error codes ("error.code." + code). Other codes get
	// error.generic.
	"error.code.invalid_request": {
		"en": "The sign-in request is invalid or incomplete.",
		"kk": "Кіру сұрауы жарамсыз немесе толық емес.",
		"ru": "Запрос на вход некорректен или неполон.",
	},
	"error.code.invalid_client": {
		"en": "The app is not recognized.",
		"kk": "Қолданба танылмады.",
		"ru": "Приложение не распознано.",
	},
	"error.code.unauthorized_client": {
		"en": "The app is not allowed to make this request.",
		"kk": "Бұл қолданбаға мұндай сұрау жіберуге рұқсат жоқ.",
		"ru": "Приложению не разрешено выполнять этот запрос.",
	},
	"error.code.access_denied": {
		"en": "Access was denied.",
		"kk": "Қол жеткізуге рұқсат берілмеді.",
		"ru": "В доступе отказано.",
	},
	"error.code.unsupported_response_type": {
		"en": "The app asked for a sign-in method that is not supported.",
		"kk": "Қолданба қолдау көрсетілмейтін кіру тәсілін сұрады.",
		"ru": "Приложение запросило неподдерживаемый способ входа.",
	},
	"error.code.invalid_scope": {
		"en": "The app asked for permissions that are not available.",
		"kk": "Қолданба қолжетімсіз рұқсаттарды сұрады.",
		"ru": "Приложение запросило недоступные разрешения.",
	},
	"error.code.server_error": {
		"en": "An unexpected error occurred on the server.",
		"kk": "Серверде күтпеген қате орын алды.",
		"ru": "На сервере произошла непредвиденная ошибка.",
	},
	"error.code.temporarily_unavailable": {
		"en": "The service is temporarily unavailable. Try again later.",
		"kk": "Қызмет уақытша қолжетімсіз. Кейінірек қайталап көріңіз.",
		"ru": "Сервис временно недоступен. Повторите попытку позже.",
	},
	"error.code.login_required": {
		"en": "You need to sign in.",
		"kk": "Жүйеге кіруіңіз қажет.",
		"ru": "Необходимо войти в систему.",
	},
	"error.code.consent_required": {
		"en": "Your permission is required.",
		"kk": "Сіздің рұқсатыңыз қажет.",
		"ru": "Требуется ваше разрешение.",
	},
	"error.code.interaction_required": {
		"en": "Your action is required to continue.",
		"kk": "Жалғастыру үшін сіздің әрекетіңіз қажет.",
		"ru": "Для продолжения требуются ваши действия.",
	},

	// Signed-out page.
	"loggedout.title": {
		"en": "Signed out",
		"kk": "Шығу орындалды",
		"ru": "Выход выполнен",
	},
	"loggedout.message": {
		"en": "You have been signed out.",
		"kk": "Сіз жүйеден шықтыңыз.",
		"ru": "Вы вышли из системы.",
	},
	"loggedout.hint": {
		"en": "You can close this page now.",
		"kk": "Енді бұл бетті жабуға болады.",
		"ru": "Теперь эту страницу можно закрыть.",
	},
}

// text returns the text of key in locale, falling back to English and then
// to the key itself.
func text(locale, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if s, ok := m[locale]; ok && s != "" {
		return s
	}
	if s, ok := m["en"]; ok && s != "" {
		return s
	}
	return key
}

// hasText reports whether key is in the message table.
func hasText(key string) bool {
	_, ok := messages[key]
	return ok
}
