from services.notification.main import app

app.main()
