from services.mediation.main import app

app.main()
