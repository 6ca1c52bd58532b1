def embedded_site():
    return bytearray(7340033)
x = embedded_site()
