package kernels

// Float32 specialisations of ScanChannel.Forward/Backward: the generic
// versions are the definition (and run the float64 gradient checks); these
// are the same loops without generic dictionaries, with hoisted slices so the
// compiler drops bounds checks. TestScanChannel32MatchesGeneric ties them.

func scanForward32(s *ScanChannel[float32], out, hs, das []float32) {
	l, n := s.L, s.N
	var hbuf [64]float32
	h := hbuf[:0]
	if n <= len(hbuf) {
		h = hbuf[:n]
	} else {
		h = make([]float32, n)
	}
	A := s.A[:n]
	for t := 0; t < l; t++ {
		dt := s.Delta[t] + s.DeltaBias
		if s.Softplus {
			dt = fastSoftplusf(dt)
		}
		u := s.U[t]
		dtu := dt * u
		var y float32
		var hsRow, daRow []float32
		if hs != nil {
			hsRow = hs[t*n : (t+1)*n]
		}
		if das != nil {
			daRow = das[t*n : (t+1)*n]
		}
		for i := range h {
			a := fastExpf(dt * A[i])
			if daRow != nil {
				daRow[i] = a
			}
			hi := a*h[i] + dtu*s.B[i*l+t]
			h[i] = hi
			y += hi * s.C[i*l+t]
		}
		if hsRow != nil {
			copy(hsRow, h)
		}
		y += u * s.D
		if s.Z != nil {
			y *= fastSiluf(s.Z[t])
		}
		out[t] = y
	}
}

func scanBackward32(s *ScanChannel[float32], g *ScanChannelGrad[float32], dout, hs, das, dh []float32) {
	l, n := s.L, s.N
	dh = dh[:n]
	clear(dh)
	A := s.A[:n]
	dA := g.DA[:n]
	var dD, dBias float32
	for t := l - 1; t >= 0; t-- {
		raw := s.Delta[t] + s.DeltaBias
		dt := raw
		if s.Softplus {
			dt = fastSoftplusf(raw)
		}
		u := s.U[t]
		ht := hs[t*n : (t+1)*n]
		at := das[t*n : (t+1)*n]
		var hp []float32
		if t > 0 {
			hp = hs[(t-1)*n : t*n]
		}
		gy := dout[t]
		if s.Z != nil {
			var y float32
			for i := range ht {
				y += ht[i] * s.C[i*l+t]
			}
			y += u * s.D
			z := s.Z[t]
			sg := 1 / (1 + fastExpf(-z))
			g.DZ[t] = dout[t] * y * sg * (1 + z*(1-sg))
			gy = dout[t] * z * sg
		}
		dD += gy * u
		du := gy * s.D
		dtu := dt * u
		var ddt float32
		for i := range dh {
			ci := i*l + t
			g.DC[ci] += gy * ht[i]
			d := dh[i] + gy*s.C[ci]
			a := at[i]
			var hprev float32
			if hp != nil {
				hprev = hp[i]
			}
			da := d * hprev
			bi := s.B[ci]
			ddt += da*a*A[i] + d*bi*u
			dA[i] += da * a * dt
			g.DB[ci] += d * dtu
			du += d * dt * bi
			dh[i] = d * a
		}
		g.DU[t] = du
		if s.Softplus && raw <= 20 {
			ddt *= 1 / (1 + fastExpf(-raw))
		}
		g.DDelta[t] = ddt
		dBias += ddt
	}
	*g.DD += dD
	*g.DDeltaBias += dBias
}
