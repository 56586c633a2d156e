from services.personnel.main import app

app.main()
