"""carrier_transport"""
