from services.intake.main import app

app.main()
