from services.statistics.main import app

app.main()
