from services.confirmation.main import app

app.main()
