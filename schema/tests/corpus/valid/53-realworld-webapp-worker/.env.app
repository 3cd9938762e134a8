DJANGO_SETTINGS_MODULE=shop.settings.prod
LOG_LEVEL=info
